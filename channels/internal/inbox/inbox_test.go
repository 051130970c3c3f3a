package inbox_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldcli/herald/channels/internal/inbox"
)

// syncLog is a goroutine-safe log sink.
type syncLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// bundle is an Inbox of ints whose Handle records what it got, and can be held by a gate.
type bundle struct {
	q   *inbox.Inbox[int]
	log *syncLog

	mu  sync.Mutex
	got []int

	gated   bool
	started chan int
	open    chan struct{}
	once    sync.Once
}

func setup(t *testing.T, size int, gated bool, handle func(context.Context, int)) *bundle {
	t.Helper()
	b := &bundle{log: &syncLog{}, gated: gated, started: make(chan int, 100), open: make(chan struct{})}
	b.q = inbox.New(inbox.Config[int]{
		Name:  "test inbox",
		Items: "numbers",
		Size:  size,
		Handle: func(ctx context.Context, n int) {
			b.mu.Lock()
			b.got = append(b.got, n)
			b.mu.Unlock()
			if b.gated {
				b.started <- n
				select {
				case <-b.open:
				case <-ctx.Done():
				}
			}
			if handle != nil {
				handle(ctx, n)
			}
		},
		Describe: func(n int) []any { return []any{"number", n} },
		Log:      slog.New(slog.NewTextHandler(b.log, nil)),
	})
	t.Cleanup(func() {
		b.release()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := b.q.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return b
}

func (b *bundle) release() { b.once.Do(func() { close(b.open) }) }

func (b *bundle) handled() []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.got)
}

func (b *bundle) waitStarted(t *testing.T, want int) {
	t.Helper()
	select {
	case n := <-b.started:
		if n != want {
			t.Fatalf("Handle started on %d, want %d", n, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Handle was not called")
	}
}

func (b *bundle) enqueue(t *testing.T, n int, want inbox.Result) {
	t.Helper()
	if got := b.q.Enqueue(n); got != want {
		t.Fatalf("Enqueue(%d) = %v, want %v", n, got, want)
	}
}

func TestCloseHandlesEverythingQueuedInOrder(t *testing.T) {
	t.Parallel()
	b := setup(t, 100, false, nil)
	var want []int
	for n := range 100 {
		b.enqueue(t, n, inbox.Queued)
		want = append(want, n)
	}
	if err := b.q.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := b.handled(); !slices.Equal(got, want) {
		t.Errorf("handled %v, want 0…99 in order", got)
	}
	b.enqueue(t, 100, inbox.Closed)
	if !b.q.Closed() {
		t.Error("Closed() = false after Close")
	}
	if err := b.q.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestFull(t *testing.T) {
	t.Parallel()
	b := setup(t, 2, true, nil)
	b.enqueue(t, 1, inbox.Queued)
	b.waitStarted(t, 1) // held: the queue is empty again
	b.enqueue(t, 2, inbox.Queued)
	b.enqueue(t, 3, inbox.Queued)
	b.enqueue(t, 4, inbox.Full)
	if b.q.Closed() {
		t.Error("Closed() = true before Close")
	}
	b.release()
	if err := b.q.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := b.handled(); !slices.Equal(got, []int{1, 2, 3}) {
		t.Errorf("handled %v, want 1, 2, 3", got)
	}
}

func TestSizeAtLeastOne(t *testing.T) {
	t.Parallel()
	b := setup(t, 0, true, nil)
	b.enqueue(t, 1, inbox.Queued)
	b.waitStarted(t, 1)
	b.enqueue(t, 2, inbox.Queued)
	b.enqueue(t, 3, inbox.Full)
}

// TestCloseWaitsForTheWork: Close refuses new items at once, and returns only when the
// queue is handled.
func TestCloseWaitsForTheWork(t *testing.T) {
	t.Parallel()
	b := setup(t, 10, true, nil)
	b.enqueue(t, 1, inbox.Queued)
	b.enqueue(t, 2, inbox.Queued)
	b.waitStarted(t, 1)
	closed := make(chan error, 1)
	go func() { closed <- b.q.Close(context.Background()) }()
	deadline := time.Now().Add(10 * time.Second)
	for !b.q.Closed() {
		if time.Now().After(deadline) {
			t.Fatal("Close did not begin")
		}
		time.Sleep(time.Millisecond)
	}
	b.enqueue(t, 3, inbox.Closed)
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while Handle was held", err)
	default:
	}
	b.release()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if got := b.handled(); !slices.Equal(got, []int{1, 2}) {
		t.Errorf("handled %v, want 1, 2", got)
	}
}

func TestCloseGivesUp(t *testing.T) {
	t.Parallel()
	var handleCtxEnded atomic.Bool
	b := setup(t, 10, true, func(ctx context.Context, _ int) { handleCtxEnded.Store(ctx.Err() != nil) })
	for n := 1; n <= 3; n++ {
		b.enqueue(t, n, inbox.Queued)
	}
	b.waitStarted(t, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := b.q.Close(ctx)
	if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "test inbox: close: ") {
		t.Fatalf("Close with an ended ctx: %v", err)
	}
	// The held Handle sees its ctx end; 2 and 3 are dropped, and that is logged.
	if err := b.q.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := b.handled(); !slices.Equal(got, []int{1}) || !handleCtxEnded.Load() {
		t.Errorf("handled %v (ctx ended: %v), want only 1, with its ctx ended", got, handleCtxEnded.Load())
	}
	if logged := b.log.String(); !strings.Contains(logged, `msg="test inbox: closed before everything queued was handled" dropped_numbers=2`) {
		t.Errorf("the dropped items are not logged:\n%s", logged)
	}
}

func TestPanicsAreRecoveredAndLogged(t *testing.T) {
	t.Parallel()
	b := setup(t, 10, false, func(_ context.Context, n int) {
		if n%2 == 0 {
			panic("bug on an even number")
		}
	})
	for n := 1; n <= 5; n++ {
		b.enqueue(t, n, inbox.Queued)
	}
	if err := b.q.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := b.handled(); !slices.Equal(got, []int{1, 2, 3, 4, 5}) {
		t.Errorf("handled %v, want 1…5", got)
	}
	logged := b.log.String()
	for _, want := range []string{
		`msg="test inbox: Handle panicked" panic="bug on an even number" number=2 stack=`,
		`msg="test inbox: Handle panicked" panic="bug on an even number" number=4 stack=`,
	} {
		if !strings.Contains(logged, want) {
			t.Errorf("the log does not hold %s:\n%s", want, logged)
		}
	}
	if n := strings.Count(logged, "Handle panicked"); n != 2 {
		t.Errorf("%d panics logged, want 2", n)
	}
}

// TestEnqueueRacesClose: whatever Enqueue answered Queued is handled exactly once, however
// it interleaves with Close (run with -race).
func TestEnqueueRacesClose(t *testing.T) {
	t.Parallel()
	for range 20 {
		var handled atomic.Int64
		q := inbox.New(inbox.Config[int]{Size: 8, Handle: func(context.Context, int) { handled.Add(1) }})
		var queued atomic.Int64
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for n := range 200 {
					if q.Enqueue(g*1000+n) == inbox.Queued {
						queued.Add(1)
					}
				}
			})
		}
		if err := q.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if handled.Load() != queued.Load() {
			t.Fatalf("%d items queued, %d handled", queued.Load(), handled.Load())
		}
	}
}

func TestNewWithoutHandlePanics(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Error("New without Handle did not panic")
		}
	}()
	inbox.New(inbox.Config[int]{})
}

func TestSameSecret(t *testing.T) {
	for _, c := range []struct {
		got, want string
		same      bool
	}{{"s3cret", "s3cret", true}, {"s3cret", "s3cre", false}, {"", "", false}, {"x", "", false}, {"", "x", false}} {
		if inbox.SameSecret(c.got, c.want) != c.same {
			t.Errorf("SameSecret(%q, %q) = %v", c.got, c.want, !c.same)
		}
	}
}
