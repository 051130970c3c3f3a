package sandbox

import (
	"math"
	"sync"
	"time"
)

// Limit is a token bucket: PerSecond messages a second on average, up to Burst at once.
// The zero Limit is no limit.
type Limit struct {
	PerSecond float64 `json:"per_second"`
	Burst     int     `json:"burst"`
}

func (l Limit) enabled() bool { return l.PerSecond > 0 }

// burst is the bucket's size: Burst, or one second's worth when Burst is not set.
func (l Limit) burst() float64 {
	if l.Burst > 0 {
		return float64(l.Burst)
	}
	return max(1, math.Ceil(l.PerSecond))
}

// defaultPaidRate is Telegram's limit for paid broadcasts (allow_paid_broadcast).
const defaultPaidRate = 1000

type bucket struct {
	tokens float64
	last   time.Time
	limit  Limit
}

// limits holds every bucket: per bot token (global, or paid for allow_paid_broadcast), and
// optionally per chat and per group chat.
type limits struct {
	mu       sync.Mutex
	global   Limit
	paid     Limit
	perChat  Limit
	perGroup Limit
	buckets  map[string]*bucket
}

func newLimits(global, paid, perChat, perGroup Limit) *limits {
	return &limits{global: global, paid: paid, perChat: perChat, perGroup: perGroup, buckets: map[string]*bucket{}}
}

type bucketUse struct {
	key   string
	limit Limit
	n     float64
}

// take takes n messages' worth from every bucket that applies to a send by bot to chat, or from
// none when one lacks them; then it returns how many whole seconds to wait, as Telegram's
// retry_after does (at least 1).
func (l *limits) take(now time.Time, bot string, chat chatRef, paid bool, n int) (retryAfter int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var uses [3]bucketUse
	used := uses[:0]
	if paid {
		if l.global.enabled() || l.paid.enabled() {
			lim := l.paid
			if !lim.enabled() {
				lim = Limit{PerSecond: defaultPaidRate}
			}
			used = append(used, bucketUse{key: "paid\x00" + bot, limit: lim})
		}
	} else if l.global.enabled() {
		used = append(used, bucketUse{key: "bot\x00" + bot, limit: l.global})
	}
	if l.perChat.enabled() {
		used = append(used, bucketUse{key: "chat\x00" + bot + "\x00" + chat.key, limit: l.perChat})
	}
	if l.perGroup.enabled() && chat.isGroup() {
		used = append(used, bucketUse{key: "group\x00" + bot + "\x00" + chat.key, limit: l.perGroup})
	}
	if len(used) == 0 {
		return 0, true
	}
	wait := 0.0
	var buckets [len(uses)]*bucket
	for i := range used {
		u := &used[i]
		size := u.limit.burst()
		// A request larger than the bucket (a media group) takes the whole bucket.
		u.n = min(float64(n), size)
		b := l.buckets[u.key]
		if b == nil {
			b = &bucket{tokens: size, last: now, limit: u.limit}
			l.buckets[u.key] = b
		}
		if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
			b.tokens = min(size, b.tokens+elapsed*u.limit.PerSecond)
			b.last = now
		}
		if b.tokens < u.n {
			wait = max(wait, (u.n-b.tokens)/u.limit.PerSecond)
		}
		buckets[i] = b
	}
	if wait > 0 {
		return max(1, int(math.Ceil(wait))), false
	}
	for i := range used {
		buckets[i].tokens -= used[i].n
	}
	if len(l.buckets) > 100_000 {
		l.prune(now)
	}
	return 0, true
}

// prune forgets the buckets that have refilled, which a new one would equal.
func (l *limits) prune(now time.Time) {
	for key, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*b.limit.PerSecond >= b.limit.burst() {
			delete(l.buckets, key)
		}
	}
}

func (l *limits) set(apply func(l *limits)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	apply(l)
	clear(l.buckets) // new limits start with full buckets
}

func (l *limits) get() (global, paid, perChat, perGroup Limit) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.global, l.paid, l.perChat, l.perGroup
}
