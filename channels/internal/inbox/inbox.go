// Package inbox is the plumbing herald's webhooks share: reading a capped
// body, comparing secrets in constant time, and the work queue. A webhook answers
// the platform at once and leaves the work to an Inbox, which hands the queued
// items, in arrival order, to one worker goroutine. The queue is bounded so
// that a burst turns into "busy, retry later" answers instead of unbounded
// memory, a panic in the work is recovered and logged instead of taking the
// process down, and Close drains what was accepted before the process exits.
package inbox

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync"
)

// ReadBody reads r's body, at most max bytes. When it cannot, it answers
// (413 for a larger body, 400 otherwise), logs why under name, and returns
// false.
func ReadBody(rw http.ResponseWriter, r *http.Request, max int64, log *slog.Logger, name string) ([]byte, bool) {
	tooLarge := func() {
		log.Warn(name+": body too large", "remote", r.RemoteAddr, "max_bytes", max)
		http.Error(rw, "body too large", http.StatusRequestEntityTooLarge)
	}
	if r.ContentLength > max {
		tooLarge()
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, max))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			tooLarge()
			return nil, false
		}
		log.Warn(name+": body not read", "remote", r.RemoteAddr, "error", err)
		http.Error(rw, "body not read", http.StatusBadRequest)
		return nil, false
	}
	return body, true
}

// SameSecret compares two secrets in constant time, whatever their lengths;
// an empty expected secret matches nothing.
func SameSecret(got, want string) bool {
	if want == "" {
		return false
	}
	g, x := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], x[:]) == 1
}

// Config configures an Inbox.
type Config[T any] struct {
	// Name starts every log message and error ("messenger webhook").
	Name string
	// Items names the items, plural, in the log: the count of items dropped by
	// a Close that gave up is logged as dropped_<Items> ("bodies").
	Items string
	// Size is how many items may wait; at least 1.
	Size int
	// Handle does the work for one item. It is called from one goroutine, in
	// arrival order; a panic in it is recovered and logged. Its ctx ends when
	// Close gives up waiting. Required.
	Handle func(ctx context.Context, item T)
	// Describe returns log attributes (key, value pairs) that identify an item
	// when Handle panics on it; nil: none. They must hold no secret.
	Describe func(item T) []any
	Log      *slog.Logger // nil: discard
}

// Result is what Enqueue did with an item.
type Result int

// The results of Enqueue.
const (
	Queued Result = iota // the worker will handle it
	Full                 // no room: the item was not queued
	Closed               // Close has begun: the item was not queued
)

// Inbox is a bounded queue of items with one worker. Its methods are safe for
// concurrent use.
type Inbox[T any] struct {
	cfg    Config[T]
	log    *slog.Logger
	ctx    context.Context // Handle's; cancelled when Close gives up
	cancel context.CancelFunc

	mu     sync.RWMutex // held for writing to close queue, for reading to send on it
	closed bool
	queue  chan T
	done   chan struct{} // closed when the worker has returned
}

// New returns an Inbox and starts its worker; Close stops it. It panics when
// cfg.Handle is nil.
func New[T any](cfg Config[T]) *Inbox[T] {
	if cfg.Handle == nil {
		panic("inbox: New: Config.Handle is nil")
	}
	q := &Inbox[T]{
		cfg:   cfg,
		log:   cfg.Log,
		queue: make(chan T, max(1, cfg.Size)),
		done:  make(chan struct{}),
	}
	if q.log == nil {
		q.log = slog.New(slog.DiscardHandler)
	}
	q.ctx, q.cancel = context.WithCancel(context.Background())
	go q.work()
	return q
}

// Enqueue queues item without waiting: Full when the queue has no room,
// Closed once Close has begun.
func (q *Inbox[T]) Enqueue(item T) Result {
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.closed {
		return Closed
	}
	select {
	case q.queue <- item:
		return Queued
	default:
		return Full
	}
}

// Closed reports whether Close has begun: a webhook answers a request that
// brings no work the same way it would answer one that does.
func (q *Inbox[T]) Closed() bool {
	q.mu.RLock()
	defer q.mu.RUnlock()
	return q.closed
}

// work hands the queued items to Handle until the queue is closed and empty.
// Once Close has given up, what is left is dropped, and counted in the log.
func (q *Inbox[T]) work() {
	defer close(q.done)
	dropped := 0
	for item := range q.queue {
		if q.ctx.Err() != nil {
			dropped++
			continue
		}
		q.handle(item)
	}
	if dropped > 0 {
		q.log.Error(q.cfg.Name+": closed before everything queued was handled", "dropped_"+q.cfg.Items, dropped)
	}
}

func (q *Inbox[T]) handle(item T) {
	defer func() {
		if p := recover(); p != nil {
			args := []any{"panic", fmt.Sprint(p)}
			if q.cfg.Describe != nil {
				args = append(args, q.cfg.Describe(item)...)
			}
			args = append(args, "stack", string(debug.Stack()))
			q.log.Error(q.cfg.Name+": Handle panicked", args...)
		}
	}()
	q.cfg.Handle(q.ctx, item)
}

// Close stops accepting items (Enqueue then returns Closed), waits until
// every queued item has been handled, and returns nil. If ctx ends first it
// returns ctx's error, wrapped: the ctx of the Handle under way ends and the
// items still queued are dropped (and logged). Close may be called more than
// once.
func (q *Inbox[T]) Close(ctx context.Context) error {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.queue)
	}
	q.mu.Unlock()
	defer q.cancel()
	select {
	case <-q.done:
		return nil
	case <-ctx.Done():
		select {
		case <-q.done: // both ready: the work is done all the same
			return nil
		default:
			return fmt.Errorf("%s: close: %w", q.cfg.Name, ctx.Err())
		}
	}
}
