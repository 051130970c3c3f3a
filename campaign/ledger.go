package campaign

import (
	"context"
	"sync"
	"time"
)

// ledgerWriter group-commits ledger writes: every mark and outcome queued
// while one transaction commits goes into the next, so the ledger keeps up
// with the platform however fast it answers, and a delivery is durably
// "sending" before its request leaves.
type ledgerWriter struct {
	store Store
	runID int64
	now   func() time.Time
	in    chan ledgerOp
	// enough marks make a batch worth committing at once; fewer wait up to
	// markLinger for company. Each mark is still durable before its request.
	enough int
	// cap is the frequency cap applied as deliveries are marked, if any.
	cap *FrequencyCap

	mu   sync.Mutex
	err  error
	done chan struct{}
}

type ledgerOp struct {
	sending int64 // a delivery to mark sending, or 0
	outcome Outcome
	reply   chan markResult
}

// markResult is what became of a mark.
type markResult int

const (
	markLost    markResult = iota // no longer pending (another owner), or the ledger failed
	markOK                        // durably sending: send it
	markStopped                   // the subscriber stopped meanwhile: recorded skipped
)

const maxLedgerBatch = 1024

func newLedgerWriter(s Store, runID int64, now func() time.Time, workers int) *ledgerWriter {
	return &ledgerWriter{store: s, runID: runID, now: now, in: make(chan ledgerOp, maxLedgerBatch), done: make(chan struct{}),
		enough: max(1, workers/4)}
}

// markSending durably marks the delivery sending and reports whether it was
// still pending and its subscriber still subscribed. reply is the caller's
// own channel (buffered, 1), used again for its next mark.
func (w *ledgerWriter) markSending(id int64, reply chan markResult) markResult {
	w.in <- ledgerOp{sending: id, reply: reply}
	return <-reply
}

// record queues an outcome; it is committed with the next batch.
func (w *ledgerWriter) record(o Outcome) { w.in <- ledgerOp{outcome: o} }

// failed returns the write error that stopped the ledger, if any.
func (w *ledgerWriter) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// close flushes what is queued and returns the first write error.
func (w *ledgerWriter) close() error {
	close(w.in)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// outcomeLinger is how long a recorded outcome may wait for a mark to ride
// along with: outcomes need not be durable before anything else happens,
// marks must be before their request leaves.
const outcomeLinger = 50 * time.Millisecond

// markLinger is how long a mark waits for others to share its commit. At
// high rates a commit per message would cost more than the message.
const markLinger = 500 * time.Microsecond

func (w *ledgerWriter) loop() {
	defer close(w.done)
	ops := make([]ledgerOp, 0, maxLedgerBatch)
	timer := time.NewTimer(outcomeLinger)
	timer.Stop()
	var oldest time.Time // when the oldest queued outcome arrived
	flush := func() {
		w.commit(ops)
		ops, oldest = ops[:0], time.Time{}
	}
	for {
		var op ledgerOp
		var ok bool
		if len(ops) == 0 {
			op, ok = <-w.in
		} else {
			select {
			case op, ok = <-w.in:
			case <-timer.C:
				flush()
				continue
			}
		}
		if !ok {
			if len(ops) > 0 {
				flush()
			}
			return
		}
		ops = append(ops, op)
		marks := 0
		if op.reply != nil {
			marks++
		}
		// Take whatever else is already queued; once a mark waits, linger
		// briefly for more.
		var linger <-chan time.Time
	drain:
		for len(ops) < maxLedgerBatch {
			if marks > 0 && linger == nil && marks < w.enough {
				linger = time.After(markLinger)
			}
			var more ledgerOp
			var ok bool
			if linger == nil || marks >= w.enough {
				select {
				case more, ok = <-w.in:
				default:
					break drain
				}
			} else {
				select {
				case more, ok = <-w.in:
				case <-linger:
					break drain
				}
			}
			if !ok {
				flush()
				return
			}
			ops = append(ops, more)
			if more.reply != nil {
				marks++
			}
		}
		urgent := marks > 0
		switch {
		case urgent || len(ops) >= maxLedgerBatch/4:
			timer.Stop()
			flush()
		case oldest.IsZero():
			oldest = time.Now()
			timer.Reset(outcomeLinger)
		}
	}
}

func (w *ledgerWriter) commit(ops []ledgerOp) {
	b := Batch{RunID: w.runID, At: w.now(), Cap: w.cap}
	for _, op := range ops {
		if op.sending != 0 {
			b.Sending = append(b.Sending, op.sending)
		} else {
			b.Outcomes = append(b.Outcomes, op.outcome)
		}
	}
	w.mu.Lock()
	failed := w.err != nil
	w.mu.Unlock()
	var res ApplyResult
	if !failed {
		var err error
		// The ledger must be written even while the run is stopping.
		res, err = w.store.Apply(context.Background(), b)
		if err != nil {
			w.mu.Lock()
			w.err = err
			w.mu.Unlock()
		}
	}
	got := make(map[int64]markResult, len(res.Marked)+len(res.Stopped))
	for _, id := range res.Marked {
		got[id] = markOK
	}
	for _, id := range res.Stopped {
		got[id] = markStopped
	}
	for _, op := range ops {
		if op.reply != nil {
			op.reply <- got[op.sending]
		}
	}
}
