package campaign

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/heraldcli/herald/internal/wait"
)

// Limiter keeps one sender account to its platform's rates: a global token
// bucket, one bucket per chat and a slower one per group, and a pause that a
// 429 sets for the whole account. One Limiter serves everything a process
// sends through the account (see Engine.Limiter); it is safe for
// concurrent use.
type Limiter struct {
	global *rate.Limiter
	slow   *rate.Limiter
	chat   rate.Limit
	chatB  int
	group  rate.Limit

	mu     sync.Mutex
	chats  map[string]*rate.Limiter
	paused time.Time
}

// NewLimiter returns a limiter for an account with limits l. A process
// keeps one per account: Engine.Limiter is the one its runs share.
func NewLimiter(l Limits) *Limiter {
	lm := &Limiter{chats: map[string]*rate.Limiter{}}
	if l.PerSecond > 0 {
		lm.global = rate.NewLimiter(rate.Limit(l.PerSecond), max(l.Burst, 1))
	}
	if l.SlowPerSecond > 0 {
		lm.slow = rate.NewLimiter(rate.Limit(l.SlowPerSecond), 1)
	}
	if l.PerChat > 0 {
		lm.chat, lm.chatB = rate.Limit(l.PerChat), max(l.PerChatBurst, 1)
	}
	if l.PerGroupMinute > 0 {
		lm.group = rate.Limit(l.PerGroupMinute / 60)
	}
	return lm
}

// Pause stops every call of the account until d from now (a 429's
// retry_after); a shorter pause than the one in force changes nothing.
func (l *Limiter) Pause(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if until := time.Now().Add(d); until.After(l.paused) {
		l.paused = until
	}
}

// PausedFor is how long the account's pause still lasts; 0 or less when
// there is none.
func (l *Limiter) PausedFor() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return time.Until(l.paused)
}

func (l *Limiter) chatLimiter(c Call) *rate.Limiter {
	lim, burst := l.chat, l.chatB
	if c.Group && l.group > 0 {
		lim, burst = l.group, 1
	}
	if lim == 0 || c.Chat == "" {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	cl, ok := l.chats[c.Chat]
	if !ok {
		if len(l.chats) >= 4096 {
			l.sweep()
		}
		cl = rate.NewLimiter(lim, burst)
		l.chats[c.Chat] = cl
	}
	return cl
}

// sweep forgets chats whose bucket is full again: they behave as new.
func (l *Limiter) sweep() {
	now := time.Now()
	for k, cl := range l.chats {
		if cl.TokensAt(now) >= float64(cl.Burst()) {
			delete(l.chats, k)
		}
	}
}

// LongPauseError is Wait's answer when the account is paused for longer
// than the caller waits.
type LongPauseError struct{ Pause time.Duration }

func (e *LongPauseError) Error() string {
	return fmt.Sprintf("the account is paused for %s by the platform's rate limit", e.Pause.Round(time.Second))
}

// Wait blocks until c may be sent: the account's pause is over and its
// buckets (global, the chat's or group's, the slow one for c.Slow) allow
// it. It returns ctx's error if ctx ends first, or at once if ctx's
// deadline comes before a bucket would allow it. When maxPause is over 0
// and the account is, or becomes while c waits, paused for longer than
// maxPause, it returns a *LongPauseError instead of sleeping it out.
func (l *Limiter) Wait(ctx context.Context, c Call, maxPause time.Duration) error {
	for {
		if d := l.PausedFor(); maxPause > 0 && d > maxPause {
			return &LongPauseError{Pause: d}
		} else if d > 0 {
			if err := sleep(ctx, d); err != nil {
				return err
			}
		}
		if cl := l.chatLimiter(c); cl != nil {
			if err := cl.Wait(ctx); err != nil {
				return err
			}
		}
		if c.Slow && l.slow != nil {
			if err := l.slow.Wait(ctx); err != nil {
				return err
			}
		}
		if l.global != nil {
			if err := l.global.Wait(ctx); err != nil {
				return err
			}
		}
		if l.PausedFor() <= 0 {
			return nil
		}
	}
}

var sleep = wait.Sleep
