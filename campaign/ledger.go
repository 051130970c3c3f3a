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

	mu   sync.Mutex
	err  error
	done chan struct{}
}

type ledgerOp struct {
	sending int64 // a delivery to mark sending, or 0
	outcome Outcome
	reply   chan bool
}

const maxLedgerBatch = 1024

func newLedgerWriter(s Store, runID int64, now func() time.Time) *ledgerWriter {
	return &ledgerWriter{store: s, runID: runID, now: now, in: make(chan ledgerOp, maxLedgerBatch), done: make(chan struct{})}
}

// markSending durably marks the delivery sending and reports whether it was
// still pending (false also when the ledger failed).
func (w *ledgerWriter) markSending(id int64) bool {
	reply := make(chan bool, 1)
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

func (w *ledgerWriter) loop() {
	defer close(w.done)
	ops := make([]ledgerOp, 0, maxLedgerBatch)
	for op := range w.in {
		ops = append(ops[:0], op)
	drain:
		for len(ops) < maxLedgerBatch {
			select {
			case op, ok := <-w.in:
				if !ok {
					break drain
				}
				ops = append(ops, op)
			default:
				break drain
			}
		}
		w.commit(ops)
	}
}

func (w *ledgerWriter) commit(ops []ledgerOp) {
	b := Batch{RunID: w.runID, At: w.now()}
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
	var marked []int64
	if !failed {
		var err error
		// The ledger must be written even while the run is stopping.
		marked, err = w.store.Apply(context.Background(), b)
		if err != nil {
			w.mu.Lock()
			w.err = err
			w.mu.Unlock()
		}
	}
	ok := make(map[int64]bool, len(marked))
	for _, id := range marked {
		ok[id] = true
	}
	for _, op := range ops {
		if op.reply != nil {
			op.reply <- ok[op.sending]
		}
	}
}
