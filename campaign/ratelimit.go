package campaign

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/heraldcli/herald/internal/wait"
)

// limiter keeps one sender account to its platform's rates: a global token
// bucket, one bucket per chat and a slower one per group, and a pause that a
// 429 sets for the whole account.
type limiter struct {
	global *rate.Limiter
	slow   *rate.Limiter
	chat   rate.Limit
	chatB  int
	group  rate.Limit

	mu     sync.Mutex
	chats  map[string]*rate.Limiter
	paused time.Time
}

func newLimiter(l Limits) *limiter {
	lm := &limiter{chats: map[string]*rate.Limiter{}}
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

// pause stops every call of the account until d from now.
func (l *limiter) pause(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if until := time.Now().Add(d); until.After(l.paused) {
		l.paused = until
	}
}

func (l *limiter) pausedFor() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return time.Until(l.paused)
}

func (l *limiter) chatLimiter(c Call) *rate.Limiter {
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
func (l *limiter) sweep() {
	now := time.Now()
	for k, cl := range l.chats {
		if cl.TokensAt(now) >= float64(cl.Burst()) {
			delete(l.chats, k)
		}
	}
}

// wait blocks until c may be sent.
func (l *limiter) wait(ctx context.Context, c Call) error {
	for {
		if d := l.pausedFor(); d > 0 {
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
		if l.pausedFor() <= 0 {
			return nil
		}
	}
}

var sleep = wait.Sleep
