package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/govalues/decimal"

	"github.com/heraldcli/herald/audience"
	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/sources"
	"github.com/heraldcli/herald/sources/catalog"
)

// activeStates are the states of a campaign's one unfinished run.
const activeStates = "('planning','sending','paused','waiting','aborted')"

// slotConflict returns a RunConflict when the campaign's slot already has a run.
func slotConflict(ctx context.Context, tx *Tx, camp string, slot time.Time) error {
	r, err := queryRun(ctx, tx, "WHERE campaign = ? AND slot_at = ?", camp, ms(slot))
	if err == nil {
		return &campaign.RunConflict{Err: campaign.ErrDuplicateSlot, Run: r}
	}
	if errors.Is(err, campaign.ErrNotFound) {
		return nil
	}
	return err
}

// Plan implements campaign.Store.
func (s *Store) Plan(ctx context.Context, req campaign.PlanRequest) (campaign.Run, error) {
	items, err := json.Marshal(nonNilItems(req.Items))
	if err != nil {
		return campaign.Run{}, fmt.Errorf("encode items: %w", err)
	}
	var runID int64
	var conflict *campaign.RunConflict
	err = s.tx(ctx, func(tx *Tx) error {
		if req.IdempotencyKey != "" {
			if r, err := queryRun(ctx, tx, "WHERE campaign = ? AND idempotency_key = ?", req.Campaign, req.IdempotencyKey); err == nil {
				conflict = &campaign.RunConflict{Err: campaign.ErrDuplicateKey, Run: r}
				return conflict
			} else if !errors.Is(err, campaign.ErrNotFound) {
				return err
			}
		}
		if !req.Slot.IsZero() {
			if err := slotConflict(ctx, tx, req.Campaign, req.Slot); err != nil {
				errors.As(err, &conflict)
				return err
			}
		}
		if r, err := queryRun(ctx, tx, "WHERE campaign = ? AND state IN "+activeStates, req.Campaign); err == nil {
			conflict = &campaign.RunConflict{Err: campaign.ErrRunActive, Run: r}
			return conflict
		} else if !errors.Is(err, campaign.ErrNotFound) {
			return err
		}
		var key, slot any
		if req.IdempotencyKey != "" {
			key = req.IdempotencyKey
		}
		if !req.Slot.IsZero() {
			slot = ms(req.Slot)
		}
		err := tx.QueryRowContext(ctx, tx.q("InsertRun"), req.Campaign, req.Trigger, key, slot, string(items), ms(req.Now)).Scan(&runID)
		if err != nil {
			return fmt.Errorf("insert run: %w", err)
		}
		if err := consume(ctx, tx, req.Campaign, req.Seen, runID, req.Source, req.Now); err != nil {
			return err
		}
		if req.Parts > 0 && len(req.Channels) > 0 {
			// One statement: SQLite streams the segment into the ledger,
			// so planning memory does not grow with the audience.
			route, rargs := routeExpr(req.Routes, req.Now, "parts.seq")
			where, wargs := s.d.segmentWhere(req.Channels, []audience.Status{audience.Subscribed}, req.Segment)
			due, dueArgs, err := dueExpr(ctx, tx, req, where, wargs)
			if err != nil {
				return err
			}
			stmt := `WITH RECURSIVE parts(seq) AS (SELECT 0 UNION ALL SELECT seq + 1 FROM parts WHERE seq + 1 < ?)
INSERT INTO deliveries (run_id, subscriber_id, seq, channel, route, state, reason, finished_at, due_at)
SELECT CAST(? AS BIGINT), id, seq, channel, route,
    CASE route WHEN 'none' THEN 'skipped' ELSE 'pending' END,
    CASE route WHEN 'none' THEN '` + campaign.ReasonOutsideWindow + `' ELSE '' END,
    CASE route WHEN 'none' THEN CAST(? AS BIGINT) ELSE 0 END, due
FROM (SELECT s.id AS id, parts.seq AS seq, s.channel AS channel, ` + route + ` AS route, ` + due + ` AS due
      FROM parts, subscribers s LEFT JOIN optins o ON o.subscriber_id = s.id
      WHERE ` + where + ` ORDER BY due, parts.seq, s.id) AS m`
			all := append([]any{req.Parts, runID, ms(req.Now)}, rargs...)
			all = append(all, dueArgs...)
			if _, err := tx.ExecContext(ctx, stmt, append(all, wargs...)...); err != nil {
				return fmt.Errorf("plan deliveries: %w", err)
			}
			// A recurring notification uses up the person's 48 hours now,
			// so two campaigns planned back to back cannot both take it.
			if _, err := tx.ExecContext(ctx, tx.q("UseRecurring"), ms(req.Now), runID); err != nil {
				return fmt.Errorf("plan deliveries: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, tx.q("PlanDone"), runID); err != nil {
			return err
		}
		return nil
	})
	if conflict != nil {
		return conflict.Run, conflict
	}
	if err != nil {
		return campaign.Run{}, fmt.Errorf("plan run of %s: %w", req.Campaign, err)
	}
	return s.Run(ctx, runID)
}

// dueExpr is the SQL expression of a delivery's due time: 0 (at once)
// unless the request holds deliveries per time zone, in which case the due
// time of each time zone among the segment's members is computed here and
// looked up per row.
func dueExpr(ctx context.Context, tx *Tx, req campaign.PlanRequest, where string, wargs []any) (string, []any, error) {
	if req.DueAt == nil {
		return "0", nil, nil
	}
	rows, err := tx.QueryContext(ctx, "SELECT DISTINCT s.timezone FROM subscribers s WHERE "+where, wargs...)
	if err != nil {
		return "", nil, fmt.Errorf("plan deliveries: time zones: %w", err)
	}
	defer rows.Close()
	dues := map[string]int64{}
	for rows.Next() {
		var tz string
		if err := rows.Scan(&tz); err != nil {
			return "", nil, err
		}
		if at := req.DueAt(tz); at.After(req.Now) {
			dues[tz] = ms(at)
		}
	}
	if err := rows.Err(); err != nil {
		return "", nil, err
	}
	b, err := json.Marshal(dues)
	if err != nil {
		return "", nil, err
	}
	return tx.d.ZoneDue, []any{string(b)}, nil
}

func nonNilItems(items []sources.Item) []sources.Item {
	if items == nil {
		return []sources.Item{}
	}
	return items
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	q(name string) string
}

func scanRun(sc interface{ Scan(...any) error }) (campaign.Run, error) {
	var (
		r                                campaign.Run
		state, items                     string
		slot, created, started, finished int64
	)
	if err := sc.Scan(&r.ID, &r.Campaign, &r.Trigger, &r.IdempotencyKey, &slot, &state, &items, &r.Error, &created, &started, &finished); err != nil {
		return r, err
	}
	r.Slot = fromMS(slot)
	r.State = campaign.RunState(state)
	if err := json.Unmarshal([]byte(items), &r.Items); err != nil {
		return r, fmt.Errorf("decode items of run %d: %w", r.ID, err)
	}
	r.CreatedAt, r.StartedAt, r.FinishedAt = fromMS(created), fromMS(started), fromMS(finished)
	return r, nil
}

func queryRun(ctx context.Context, db querier, where string, args ...any) (campaign.Run, error) {
	r, err := scanRun(db.QueryRowContext(ctx, db.q("RunColumns")+" "+where+" ORDER BY id DESC LIMIT 1", args...))
	if errors.Is(err, sql.ErrNoRows) {
		return r, campaign.ErrNotFound
	}
	return r, err
}

// Run implements campaign.Store.
func (s *Store) Run(ctx context.Context, id int64) (campaign.Run, error) {
	return queryRun(ctx, s.r, "WHERE id = ?", id)
}

// RunByKey implements campaign.Store.
func (s *Store) RunByKey(ctx context.Context, camp, key string) (campaign.Run, error) {
	return queryRun(ctx, s.r, "WHERE campaign = ? AND idempotency_key = ?", camp, key)
}

// ActiveRun implements campaign.Store.
func (s *Store) ActiveRun(ctx context.Context, camp string) (campaign.Run, error) {
	return queryRun(ctx, s.r, "WHERE campaign = ? AND state IN "+activeStates, camp)
}

// Runs implements campaign.Store.
func (s *Store) Runs(ctx context.Context, f campaign.RunFilter) ([]campaign.Run, error) {
	query, args := s.d.q("RunColumns"), []any{}
	if f.Campaign != "" {
		query += " WHERE campaign = ?"
		args = append(args, f.Campaign)
	}
	query += " ORDER BY id DESC"
	if f.Limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	defer rows.Close()
	var out []campaign.Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Counts implements campaign.Store.
func (s *Store) Counts(ctx context.Context, runID int64) (campaign.Counts, error) {
	c := campaign.Counts{Reasons: []campaign.ReasonCount{}, Channels: []campaign.ChannelCount{}}
	rows, err := s.r.QueryContext(ctx, s.r.q("Counts"), runID)
	if err != nil {
		return c, fmt.Errorf("count deliveries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var channel, route, state, reason string
		var n int
		if err := rows.Scan(&channel, &route, &state, &reason, &n); err != nil {
			return c, err
		}
		c.Channels = append(c.Channels, campaign.ChannelCount{Channel: channel, Route: route,
			State: campaign.DeliveryState(state), Reason: reason, Count: n})
		c.Targeted += n
		switch campaign.DeliveryState(state) {
		case campaign.Pending:
			c.Pending += n
		case campaign.Sending:
			c.Sending += n
		case campaign.Sent, campaign.Delivered, campaign.Read:
			c.Sent += n
		case campaign.Failed:
			c.Failed += n
		case campaign.Skipped:
			c.Skipped += n
		case campaign.Unknown:
			c.Unknown += n
		}
		if reason != "" {
			c.AddReason(campaign.DeliveryState(state), reason, n)
		}
	}
	if err := rows.Err(); err != nil {
		return c, err
	}
	var first, last int64
	if err := s.r.QueryRowContext(ctx, s.r.q("SentSpan"), runID).Scan(&first, &last); err != nil {
		return c, fmt.Errorf("count deliveries: %w", err)
	}
	c.FirstSentAt, c.LastSentAt = fromMS(first), fromMS(last)
	return c, nil
}

// checkLease returns ErrNotFound, ErrRunFinished, or ErrRunBusy when a live
// lease is held by someone other than owner ("" for anyone).
func checkLease(ctx context.Context, tx *Tx, runID int64, owner string, now time.Time) error {
	var state, holder string
	var until int64
	err := tx.QueryRowContext(ctx, tx.q("RunLease"), runID).Scan(&state, &holder, &until)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return campaign.ErrNotFound
	case err != nil:
		return err
	case !campaign.RunState(state).Resumable():
		return campaign.ErrRunFinished
	case holder != "" && holder != owner && until > ms(now):
		return campaign.ErrRunBusy
	}
	return nil
}

// AcquireRun implements campaign.Store.
func (s *Store) AcquireRun(ctx context.Context, runID int64, owner string, now time.Time, ttl time.Duration) (int, error) {
	var recovered int
	err := s.tx(ctx, func(tx *Tx) error {
		if err := checkLease(ctx, tx, runID, owner, now); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, tx.q("RecoverSending"), ms(now), runID)
		if err != nil {
			return fmt.Errorf("recover run %d: %w", runID, err)
		}
		n, _ := res.RowsAffected()
		recovered = int(n)
		_, err = tx.ExecContext(ctx, tx.q("TakeLease"), owner, ms(now.Add(ttl)), ms(now), runID)
		return err
	})
	return recovered, err
}

// RenewRun implements campaign.Store.
func (s *Store) RenewRun(ctx context.Context, runID int64, owner string, now time.Time, ttl time.Duration) error {
	return s.tx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, tx.q("RenewLease"), ms(now.Add(ttl)), runID, owner)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return campaign.ErrRunBusy
		}
		return nil
	})
}

// ReleaseRun implements campaign.Store.
func (s *Store) ReleaseRun(ctx context.Context, runID int64, owner string, state campaign.RunState, errMsg string, now time.Time) error {
	return s.tx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, tx.q("ReleaseLease"), string(state), errMsg, string(state), ms(now), runID, owner)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return campaign.ErrRunBusy
		}
		return nil
	})
}

// CancelRun implements campaign.Store.
func (s *Store) CancelRun(ctx context.Context, runID int64, now time.Time) (int, error) {
	var skipped int
	err := s.tx(ctx, func(tx *Tx) error {
		if err := checkLease(ctx, tx, runID, "", now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.q("RecoverSending"), ms(now), runID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, tx.q("CancelPending"), ms(now), runID)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		skipped = int(n)
		_, err = tx.ExecContext(ctx, tx.q("CancelRun"), ms(now), runID)
		return err
	})
	return skipped, err
}

// RequeueUnknown implements campaign.Store.
func (s *Store) RequeueUnknown(ctx context.Context, runID int64, now time.Time) (int, error) {
	var n int
	err := s.tx(ctx, func(tx *Tx) error {
		r, err := queryRun(ctx, tx, "WHERE id = ?", runID)
		if err != nil {
			return err
		}
		switch {
		case r.State == campaign.RunCancelled:
			return campaign.ErrRunFinished
		case r.State.Resumable():
			if err := checkLease(ctx, tx, runID, "", now); err != nil {
				return err
			}
		default: // done: it becomes resumable, if the campaign has no other active run
			if other, err := queryRun(ctx, tx, "WHERE campaign = ? AND id != ? AND state IN "+activeStates, r.Campaign, runID); err == nil {
				return &campaign.RunConflict{Err: campaign.ErrRunActive, Run: other}
			} else if !errors.Is(err, campaign.ErrNotFound) {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, tx.q("RequeueUnknown"), runID)
		if err != nil {
			return fmt.Errorf("requeue unknown deliveries: %w", err)
		}
		affected, _ := res.RowsAffected()
		if n = int(affected); n == 0 {
			return nil
		}
		_, err = tx.ExecContext(ctx, tx.q("ReopenRun"), runID)
		return err
	})
	return n, err
}

// Pending implements campaign.Store.
func (s *Store) Pending(ctx context.Context, runID, afterID int64, limit int, due time.Time) ([]campaign.Claim, error) {
	rows, err := s.r.QueryContext(ctx, s.r.q("Pending"), runID, afterID, ms(due), limit)
	if err != nil {
		return nil, fmt.Errorf("read pending deliveries: %w", err)
	}
	defer rows.Close()
	out := make([]campaign.Claim, 0, limit)
	// Rows are scanned straight into their slot, through scratch declared
	// once: a pointer handed to Scan escapes, and a fresh one per row would
	// cost an allocation per delivery each.
	var tags, status string
	var lia, wu int64
	for rows.Next() {
		out = append(out, campaign.Claim{})
		c := &out[len(out)-1]
		sub := &c.Subscriber
		if err := rows.Scan(&c.DeliveryID, &c.Seq, &c.Route, &sub.ID, &sub.Channel, &sub.Address, &sub.Name, &sub.Locale,
			&sub.Timezone, &tags, &status, &lia, &wu, &c.Token); err != nil {
			return nil, err
		}
		sub.Tags, sub.Status, sub.LastInboundAt, sub.WindowUntil = parseTags(tags), audience.Status(status), fromMS(lia), fromMS(wu)
	}
	return out, rows.Err()
}

// outcomeRow is one outcome as RecordOutcomes reads it.
type outcomeRow struct {
	ID     int64  `json:"id"`
	Marked bool   `json:"marked"`
	State  string `json:"state"`
	Reason string `json:"reason"`
	Error  string `json:"error"`
	IDs    string `json:"ids"`
}

// Apply implements campaign.Store. Each kind of write is one statement over
// the whole batch, so a commit costs about the same for 1 or 1,000 rows.
func (s *Store) Apply(ctx context.Context, b campaign.Batch) (campaign.ApplyResult, error) {
	var res campaign.ApplyResult
	at := ms(b.At)
	// Sent outcomes, the common case, go in their cheap form; others in full.
	var outcomes, sent []byte
	if len(b.Outcomes) > 0 {
		var rows []outcomeRow
		sentIDs := make(map[string]string, len(b.Outcomes))
		for _, o := range b.Outcomes {
			ids := strings.Join(o.MessageIDs, ",")
			if o.Marked && o.State == campaign.Sent && o.Reason == "" && o.Error == "" {
				sentIDs[strconv.FormatInt(o.DeliveryID, 10)] = ids
				continue
			}
			rows = append(rows, outcomeRow{ID: o.DeliveryID, Marked: o.Marked, State: string(o.State), Reason: o.Reason, Error: o.Error, IDs: ids})
		}
		var err error
		if len(rows) > 0 {
			if outcomes, err = json.Marshal(rows); err != nil {
				return res, err
			}
		}
		if len(sentIDs) > 0 {
			if sent, err = json.Marshal(sentIDs); err != nil {
				return res, err
			}
		}
	}
	var sending []byte
	if len(b.Sending) > 0 {
		var err error
		if sending, err = json.Marshal(b.Sending); err != nil {
			return res, err
		}
	}
	err := s.tx(ctx, func(tx *Tx) error {
		res = campaign.ApplyResult{}
		if sent != nil {
			if _, err := tx.StmtContext(ctx, s.recordSent).ExecContext(ctx, at, string(sent), b.RunID); err != nil {
				return fmt.Errorf("record outcomes: %w", err)
			}
		}
		if outcomes != nil {
			if _, err := tx.StmtContext(ctx, s.recordOutcomes).ExecContext(ctx, at, string(outcomes), b.RunID); err != nil {
				return fmt.Errorf("record outcomes: %w", err)
			}
		}
		for _, o := range b.Outcomes {
			if err := applySubscriberEffects(ctx, tx, o, at); err != nil {
				return err
			}
		}
		if sending != nil {
			if b.Cap != nil {
				capped, err := returnedIDs(tx.QueryContext(ctx, tx.q("SkipCapped"), at, b.RunID, string(sending), ms(b.At.Add(-b.Cap.Per)), b.Cap.Max))
				if err != nil {
					return fmt.Errorf("apply the frequency cap: %w", err)
				}
				res.Stopped = append(res.Stopped, capped...)
			}
			rows, err := tx.StmtContext(ctx, s.markSending).QueryContext(ctx, at, b.RunID, string(sending))
			if err == nil {
				err = scanMarked(rows, &res)
			}
			if err != nil {
				return fmt.Errorf("mark deliveries sending: %w", err)
			}
			if b.Cap != nil && len(res.Marked) > 0 {
				marked, err := json.Marshal(res.Marked)
				if err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, tx.q("RecordContacts"), at, string(marked)); err != nil {
					return fmt.Errorf("count contacts for the frequency cap: %w", err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return campaign.ApplyResult{}, err
	}
	return res, nil
}

// scanMarked reads what MarkSending returned into res: the ids marked
// sending, and those skipped because their subscriber stopped.
func scanMarked(rows *sql.Rows, res *campaign.ApplyResult) error {
	defer rows.Close()
	for rows.Next() {
		var id int64
		var send bool
		if err := rows.Scan(&id, &send); err != nil {
			return err
		}
		if send {
			res.Marked = append(res.Marked, id)
		} else {
			res.Stopped = append(res.Stopped, id)
		}
	}
	return rows.Err()
}

// returnedIDs reads the ids a RETURNING statement returned.
func returnedIDs(rows *sql.Rows, err error) ([]int64, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func applySubscriberEffects(ctx context.Context, tx *Tx, o campaign.Outcome, at int64) error {
	if o.SubscriberID == 0 {
		return nil
	}
	if o.SubscriberStatus != "" {
		if _, err := tx.ExecContext(ctx, tx.q("SetSubscriberStatus"), string(o.SubscriberStatus), at, o.SubscriberID); err != nil {
			return fmt.Errorf("update subscriber %d: %w", o.SubscriberID, err)
		}
	}
	if o.CloseWindow {
		if _, err := tx.ExecContext(ctx, tx.q("CloseWindow"), at, o.SubscriberID); err != nil {
			return fmt.Errorf("update subscriber %d: %w", o.SubscriberID, err)
		}
	}
	if o.NewAddress != "" {
		if _, err := tx.ExecContext(ctx, tx.q("SetSubscriberAddress"), o.NewAddress, at, o.SubscriberID); err != nil {
			return fmt.Errorf("update subscriber %d: %w", o.SubscriberID, err)
		}
	}
	return nil
}

// SkipSlot implements campaign.Store.
func (s *Store) SkipSlot(ctx context.Context, sk campaign.SlotSkip) (campaign.Run, error) {
	var id int64
	var conflict *campaign.RunConflict
	err := s.tx(ctx, func(tx *Tx) error {
		if err := slotConflict(ctx, tx, sk.Campaign, sk.Slot); err != nil {
			errors.As(err, &conflict)
			return err
		}
		err := tx.QueryRowContext(ctx, tx.q("InsertSkippedSlot"), sk.Campaign, sk.Trigger, ms(sk.Slot), sk.Reason, ms(sk.Now), ms(sk.Now)).Scan(&id)
		if err != nil {
			return fmt.Errorf("record skipped slot: %w", err)
		}
		return nil
	})
	if conflict != nil {
		return conflict.Run, conflict
	}
	if err != nil {
		return campaign.Run{}, err
	}
	return s.Run(ctx, id)
}

// LastSlot implements campaign.Store.
func (s *Store) LastSlot(ctx context.Context, camp string) (time.Time, error) {
	var v int64
	if err := s.r.QueryRowContext(ctx, s.r.q("LastSlot"), camp).Scan(&v); err != nil {
		return time.Time{}, fmt.Errorf("read last slot of %s: %w", camp, err)
	}
	return fromMS(v), nil
}

// NextDue implements campaign.Store.
func (s *Store) NextDue(ctx context.Context, runID int64) (time.Time, error) {
	var v int64
	if err := s.r.QueryRowContext(ctx, s.r.q("NextDue"), runID).Scan(&v); err != nil {
		return time.Time{}, fmt.Errorf("read next due delivery of run %d: %w", runID, err)
	}
	return fromMS(v), nil
}

// Consume implements campaign.Store.
func (s *Store) Consume(ctx context.Context, camp string, seen []string, src *campaign.SourceState, now time.Time) error {
	return s.tx(ctx, func(tx *Tx) error { return consume(ctx, tx, camp, seen, 0, src, now) })
}

// consume records the keys seen (by run runID, 0 for none) and the
// source's state: what a plan, or a watch's first poll, takes from a source.
func consume(ctx context.Context, tx *Tx, camp string, seen []string, runID int64, src *campaign.SourceState, now time.Time) error {
	if len(seen) > 0 {
		stmt, err := tx.PrepareContext(ctx, tx.q("MarkSeen"))
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, k := range seen {
			if _, err := stmt.ExecContext(ctx, camp, k, runID, ms(now)); err != nil {
				return fmt.Errorf("mark item seen: %w", err)
			}
		}
	}
	if src != nil {
		res, err := tx.ExecContext(ctx, tx.q("SaveSourceState"), camp, src.URL, src.Validators.ETag,
			src.Validators.LastModified, ms(now), src.Generation)
		if err != nil {
			return fmt.Errorf("save source state: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("save source state: %w", err)
		} else if n == 0 {
			return campaign.ErrSourceChanged
		}
		if err := saveProducts(ctx, tx, camp, src.URL, src.Products); err != nil {
			return err
		}
	}
	return nil
}

// saveProducts records the product states a catalog run consumes.
func saveProducts(ctx context.Context, tx *Tx, camp, u string, products []catalog.State) error {
	if len(products) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, tx.q("SaveProductState"))
	if err != nil {
		return err
	}
	defer stmt.Close()
	for i := range products {
		p := &products[i]
		if _, err := stmt.ExecContext(ctx, camp, u, p.Key, p.Price.String(), p.Currency, string(p.Availability),
			p.RefPrice.String(), ms(p.DropAt), ms(p.BackAt)); err != nil {
			return fmt.Errorf("save product state: %w", err)
		}
	}
	return nil
}

// ProductStates implements campaign.Store.
func (s *Store) ProductStates(ctx context.Context, camp, u string) (map[string]catalog.State, error) {
	rows, err := s.r.QueryContext(ctx, s.r.q("ProductStates"), camp, u)
	if err != nil {
		return nil, fmt.Errorf("read product states: %w", err)
	}
	defer rows.Close()
	out := map[string]catalog.State{}
	for rows.Next() {
		var st catalog.State
		var price, ref, avail string
		var dropAt, backAt int64
		if err := rows.Scan(&st.Key, &price, &st.Currency, &avail, &ref, &dropAt, &backAt); err != nil {
			return nil, fmt.Errorf("read product states: %w", err)
		}
		if st.Price, err = decimal.Parse(price); err != nil {
			return nil, fmt.Errorf("read product state %s: price %q: %w", st.Key, price, err)
		}
		if st.RefPrice, err = decimal.Parse(ref); err != nil {
			return nil, fmt.Errorf("read product state %s: ref_price %q: %w", st.Key, ref, err)
		}
		st.Availability = sources.Availability(avail)
		st.DropAt, st.BackAt = fromMS(dropAt), fromMS(backAt)
		out[st.Key] = st
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read product states: %w", err)
	}
	return out, nil
}

// SetWaitingSince implements campaign.Store.
func (s *Store) SetWaitingSince(ctx context.Context, camp, u string, since time.Time) error {
	return s.tx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, tx.q("SetWaitingSince"), ms(since), camp, u)
		return err
	})
}

// PruneContacts implements campaign.Store.
func (s *Store) PruneContacts(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, tx.q("PruneContacts"), ms(before))
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return int(n), err
}
