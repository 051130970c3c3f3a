package campaign

import (
	"context"
	"errors"
	"testing"
	"time"
)

type limitsOnly struct {
	Channel
	l Limits
}

func (c limitsOnly) Limits() Limits { return c.l }

func TestWorkersFollowTheRate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		rates []float64
		want  int
	}{
		{[]float64{30}, minWorkers},      // 7.5 in flight: the floor
		{[]float64{1000}, 250},           // paid broadcast
		{[]float64{1000, 300}, 325},      // two accounts add up
		{[]float64{100000}, maxWorkers},  // capped
		{[]float64{0}, unlimitedWorkers}, // no limit: the sandbox
	}
	for _, tc := range cases {
		chans := map[string]Channel{}
		for i, r := range tc.rates {
			chans[string(rune('a'+i))] = limitsOnly{l: Limits{PerSecond: r}}
		}
		if got := workersFor(chans); got != tc.want {
			t.Errorf("rates %v: %d workers, want %d", tc.rates, got, tc.want)
		}
	}
}

// A pause longer than the caller waits that arrives while Wait sleeps a
// short one is not slept out: Wait answers LongPauseError.
func TestLimiterWaitStopsAtALongPause(t *testing.T) {
	l := NewLimiter(Limits{PerSecond: 1000})
	l.Pause(time.Hour)
	if err := l.Wait(context.Background(), Call{Chat: "1"}, time.Minute); !isLongPause(err) {
		t.Fatalf("paused for an hour: %v", err)
	}
	l = NewLimiter(Limits{PerSecond: 1000})
	l.Pause(10 * time.Millisecond)
	// The short pause's sleep: meanwhile another run gets a 429 for an hour.
	old := sleep
	sleep = func(ctx context.Context, d time.Duration) error { l.Pause(time.Hour); return nil }
	t.Cleanup(func() { sleep = old })
	if err := l.Wait(context.Background(), Call{Chat: "1"}, time.Minute); !isLongPause(err) {
		t.Fatalf("paused for an hour while waiting: %v", err)
	}
	// Without a bound the caller waits it out (here: the sleep returns).
	l = NewLimiter(Limits{PerSecond: 1000})
	l.Pause(10 * time.Millisecond)
	sleep = func(ctx context.Context, d time.Duration) error {
		l.mu.Lock()
		l.paused = time.Time{} // the pause is over
		l.mu.Unlock()
		return nil
	}
	if err := l.Wait(context.Background(), Call{Chat: "1"}, 0); err != nil {
		t.Fatalf("no bound: %v", err)
	}
}

func isLongPause(err error) bool {
	var lp *LongPauseError
	return errors.As(err, &lp) && lp.Pause > 30*time.Minute
}
