package sqlstore

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/heraldcli/herald/audience"
)

// seen records the inbound event's key in tx; ErrDuplicate when it was
// already there. Every lifecycle write starts with it, in the same
// transaction as its effect: an event is applied exactly once.
func seen(ctx context.Context, tx *Tx, in audience.Inbound) error {
	if in.Key == "" {
		return nil
	}
	res, err := tx.ExecContext(ctx, "INSERT INTO inbound_seen (channel, key, seen_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
		in.Channel, in.Key, ms(in.At))
	if err != nil {
		return fmt.Errorf("record inbound event: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return audience.ErrDuplicate
	}
	return nil
}

// interact moves the subscriber's last inbound time (and window) forward.
func interact(ctx context.Context, tx *Tx, in audience.Inbound) error {
	var until int64
	if in.Window > 0 {
		until = ms(in.At.Add(in.Window))
	}
	_, err := tx.ExecContext(ctx, tx.q("Interact"), ms(in.At), until, ms(in.At), ms(in.At), in.Channel, in.Address)
	return err
}

func selectSubscriber(ctx context.Context, qr interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, channel, address string) (audience.Subscriber, error) {
	sub, err := scanSubscriber(qr.QueryRowContext(ctx, "SELECT "+subscriberCols+" FROM subscribers s WHERE s.channel = ? AND s.address = ?", channel, address))
	if errors.Is(err, sql.ErrNoRows) {
		return sub, audience.ErrNoSubscriber
	}
	return sub, err
}

// onInbound applies one inbound event in one transaction: it records the
// event's key (ErrDuplicate if it was already there), reads the subscriber
// (found false when there is none) and runs fn; then, if there is a
// subscriber now, the Change carries them as the transaction leaves them.
func (s *Store) onInbound(ctx context.Context, in audience.Inbound,
	fn func(tx *Tx, old audience.Subscriber, found bool) (audience.Change, error)) (audience.Change, error) {
	var ch audience.Change
	err := s.tx(ctx, func(tx *Tx) error {
		if err := seen(ctx, tx, in); err != nil {
			return err
		}
		old, err := selectSubscriber(ctx, tx, in.Channel, in.Address)
		found := err == nil
		if err != nil && !errors.Is(err, audience.ErrNoSubscriber) {
			return err
		}
		if ch, err = fn(tx, old, found); err != nil {
			return err
		}
		now, err := selectSubscriber(ctx, tx, in.Channel, in.Address)
		switch {
		case err == nil:
			ch.Subscriber = now
		case !errors.Is(err, audience.ErrNoSubscriber):
			return err
		}
		return nil
	})
	return ch, err
}

// Subscribe implements audience.LifecycleStore.
func (s *Store) Subscribe(ctx context.Context, in audience.Inbound, sub audience.Subscriber) (audience.Change, error) {
	return s.onInbound(ctx, in, func(tx *Tx, old audience.Subscriber, found bool) (audience.Change, error) {
		var ch audience.Change
		var err error
		if !found {
			_, err = tx.ExecContext(ctx, tx.q("InsertSubscriber"), in.Channel, in.Address, sub.Name, sub.Locale, sub.Timezone,
				tagsJSON(normTags(sub.Tags)), string(audience.Subscribed), ms(sub.Consent.At), sub.Consent.Source,
				sub.Consent.Ref, sub.Consent.Proof, ms(in.At), ms(in.At))
		} else {
			ch.Previous = old.Status
			_, err = tx.ExecContext(ctx, `UPDATE subscribers SET status = 'subscribed', name = ?, locale = ?, timezone = ?, tags = ?,
				consent_at = ?, consent_source = ?, consent_ref = ?, consent_proof = ?, updated_at = ? WHERE id = ?`,
				keep(old.Name, sub.Name), keep(old.Locale, sub.Locale), keep(old.Timezone, sub.Timezone),
				tagsJSON(normTags(append(old.Tags, sub.Tags...))), ms(sub.Consent.At), sub.Consent.Source,
				sub.Consent.Ref, sub.Consent.Proof, ms(in.At), old.ID)
		}
		if err != nil {
			return ch, fmt.Errorf("subscribe %s:%s: %w", in.Channel, in.Address, err)
		}
		return ch, interact(ctx, tx, in)
	})
}

// Stop implements audience.LifecycleStore.
func (s *Store) Stop(ctx context.Context, in audience.Inbound, st audience.Status) (audience.Change, error) {
	return s.onInbound(ctx, in, func(tx *Tx, old audience.Subscriber, found bool) (audience.Change, error) {
		if !found {
			return audience.Change{}, nil // nobody to stop; the event is still recorded
		}
		ch := audience.Change{Previous: old.Status}
		if old.Status != st {
			if _, err := tx.ExecContext(ctx, tx.q("SetSubscriberStatus"), string(st), ms(in.At), old.ID); err != nil {
				return ch, fmt.Errorf("stop %s:%s: %w", in.Channel, in.Address, err)
			}
		}
		if st != audience.Unsubscribed {
			return ch, nil
		}
		// Asking to stop is a message (a blocked bot is not).
		return ch, interact(ctx, tx, in)
	})
}

// Message implements audience.LifecycleStore.
func (s *Store) Message(ctx context.Context, in audience.Inbound, every time.Duration) (audience.Change, error) {
	return s.onInbound(ctx, in, func(tx *Tx, old audience.Subscriber, found bool) (audience.Change, error) {
		if !found {
			return audience.Change{}, nil
		}
		ch := audience.Change{Previous: old.Status}
		if err := interact(ctx, tx, in); err != nil || every <= 0 || old.Status != audience.Subscribed {
			return ch, err
		}
		res, err := tx.ExecContext(ctx, "UPDATE subscribers SET auto_reply_at = ? WHERE id = ? AND auto_reply_at <= ?",
			ms(in.At), old.ID, ms(in.At.Add(-every)))
		if err != nil {
			return ch, fmt.Errorf("claim default reply: %w", err)
		}
		n, _ := res.RowsAffected()
		ch.Reply = n == 1
		return ch, nil
	})
}

// Seen implements audience.LifecycleStore.
func (s *Store) Seen(ctx context.Context, in audience.Inbound) error {
	return s.tx(ctx, func(tx *Tx) error { return seen(ctx, tx, in) })
}

// PruneSeen implements audience.LifecycleStore.
func (s *Store) PruneSeen(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM inbound_seen WHERE seen_at < ?", ms(before))
		if err != nil {
			return fmt.Errorf("prune inbound events: %w", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return int(n), err
}

// Cursor implements audience.LifecycleStore.
func (s *Store) Cursor(ctx context.Context, name string) (int64, error) {
	var v int64
	err := s.r.QueryRowContext(ctx, "SELECT value FROM cursors WHERE name = ?", name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return v, err
}

// SetCursor implements audience.LifecycleStore.
func (s *Store) SetCursor(ctx context.Context, name string, v int64, now time.Time) error {
	return s.tx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO cursors (name, value, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, name, v, ms(now))
		return err
	})
}

// Subscriber implements audience.LifecycleStore.
func (s *Store) Subscriber(ctx context.Context, channel, address string) (audience.Subscriber, error) {
	return selectSubscriber(ctx, s.r, channel, address)
}

// History implements audience.LifecycleStore.
func (s *Store) History(ctx context.Context, id int64) ([]audience.Event, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT kind, previous, source, ref, at FROM audience_events WHERE subscriber_id = ? ORDER BY id", id)
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	defer rows.Close()
	out := []audience.Event{}
	for rows.Next() {
		var e audience.Event
		var kind, prev string
		var at int64
		if err := rows.Scan(&kind, &prev, &e.Source, &e.Ref, &at); err != nil {
			return nil, err
		}
		e.Kind, e.Previous, e.At = audience.Status(kind), audience.Status(prev), fromMS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Retag implements audience.LifecycleStore.
func (s *Store) Retag(ctx context.Context, f audience.Filter, add, remove []string, now time.Time) (int, error) {
	n := 0
	err := s.tx(ctx, func(tx *Tx) error {
		n = 0
		where, args := s.d.filterWhere(f)
		rows, err := tx.QueryContext(ctx, "SELECT s.id, s.tags FROM subscribers s WHERE s.status <> 'forgotten' AND "+where, args...)
		if err != nil {
			return fmt.Errorf("select subscribers: %w", err)
		}
		type change struct {
			id   int64
			tags string
		}
		var changes []change
		for rows.Next() {
			var id int64
			var tags string
			if err := rows.Scan(&id, &tags); err != nil {
				rows.Close()
				return err
			}
			next := slices.DeleteFunc(normTags(append(parseTags(tags), add...)), func(t string) bool { return slices.Contains(remove, t) })
			if nt := tagsJSON(next); nt != tags {
				changes = append(changes, change{id, nt})
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, c := range changes {
			if _, err := tx.ExecContext(ctx, "UPDATE subscribers SET tags = ?, updated_at = ? WHERE id = ?", c.tags, ms(now), c.id); err != nil {
				return fmt.Errorf("update tags: %w", err)
			}
		}
		n = len(changes)
		return nil
	})
	return n, err
}

// SetStatuses implements audience.LifecycleStore.
func (s *Store) SetStatuses(ctx context.Context, f audience.Filter, st audience.Status, now time.Time) (int, error) {
	if st == audience.Forgotten {
		return 0, errors.New("set status: forgetting someone erases their data: use Forget")
	}
	var n int64
	err := s.tx(ctx, func(tx *Tx) error {
		where, args := s.d.filterWhere(f)
		res, err := tx.ExecContext(ctx, "UPDATE subscribers AS s SET status = ?, updated_at = ? WHERE s.status NOT IN (?, 'forgotten') AND "+where,
			append([]any{string(st), ms(now), string(st)}, args...)...)
		if err != nil {
			return fmt.Errorf("set status: %w", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return int(n), err
}

// tombstone is what a forgotten address becomes: a hash keyed with the
// store's own secret, recognisable by this store only.
func (s *Store) tombstone(channel, address string) string {
	m := hmac.New(sha256.New, s.tombstoneKey)
	m.Write([]byte(channel + "\x00" + address))
	return "forgotten:" + hex.EncodeToString(m.Sum(nil))
}

// Forget implements audience.LifecycleStore. The subscriber's row becomes
// the tombstone, so that past runs keep their counts; a second tombstone
// for the same address is merged into the first.
func (s *Store) Forget(ctx context.Context, channel, address string, now time.Time) error {
	return s.tx(ctx, func(tx *Tx) error {
		sub, err := selectSubscriber(ctx, tx, channel, address)
		if err != nil {
			return err
		}
		if sub.Status == audience.Forgotten {
			return audience.ErrNoSubscriber
		}
		tomb := s.tombstone(channel, address)
		stmts := []struct {
			sql  string
			args []any
		}{
			{"DELETE FROM optins WHERE subscriber_id = ?", []any{sub.ID}},
			{"UPDATE deliveries SET message_ids = '', error = '' WHERE subscriber_id = ?", []any{sub.ID}},
			{"UPDATE audience_events SET ref = '' WHERE subscriber_id = ? AND ref <> '' AND NOT EXISTS (SELECT 1 FROM links l WHERE l.channel = audience_events.channel AND l.payload = audience_events.ref)", []any{sub.ID}},
			{`UPDATE subscribers SET status = 'forgotten', name = '', locale = '', timezone = '', tags = '[]',
				consent_at = 0, consent_source = '', consent_ref = '', consent_proof = '', last_inbound_at = 0,
				window_until = 0, auto_reply_at = 0, updated_at = ? WHERE id = ?`, []any{ms(now), sub.ID}},
		}
		for _, st := range stmts {
			if _, err := tx.ExecContext(ctx, st.sql, st.args...); err != nil {
				return fmt.Errorf("forget %s:%s: %w", channel, address, err)
			}
		}
		var prev int64
		err = tx.QueryRowContext(ctx, "SELECT id FROM subscribers WHERE channel = ? AND address = ?", channel, tomb).Scan(&prev)
		if errors.Is(err, sql.ErrNoRows) {
			_, err = tx.ExecContext(ctx, "UPDATE subscribers SET address = ? WHERE id = ?", tomb, sub.ID)
			return err
		}
		if err != nil {
			return err
		}
		// Forgotten before: one tombstone keeps the whole history.
		for _, st := range []string{
			tx.q("MoveDeliveries"),
			"UPDATE audience_events SET subscriber_id = ? WHERE subscriber_id = ?",
		} {
			if _, err := tx.ExecContext(ctx, st, prev, sub.ID); err != nil {
				return fmt.Errorf("forget %s:%s: %w", channel, address, err)
			}
		}
		for _, st := range []string{"DELETE FROM deliveries WHERE subscriber_id = ?", "DELETE FROM subscribers WHERE id = ?"} {
			if _, err := tx.ExecContext(ctx, st, sub.ID); err != nil {
				return fmt.Errorf("forget %s:%s: %w", channel, address, err)
			}
		}
		_, err = tx.ExecContext(ctx, "UPDATE subscribers SET updated_at = ? WHERE id = ?", ms(now), prev)
		return err
	})
}

// forgottenSince returns when the address was forgotten, or zero.
func (s *Store) forgottenSince(ctx context.Context, tx *Tx, channel, address string) (time.Time, error) {
	var at int64
	err := tx.QueryRowContext(ctx, "SELECT updated_at FROM subscribers WHERE channel = ? AND address = ? AND status = 'forgotten'",
		channel, s.tombstone(channel, address)).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	return fromMS(at), err
}

// SaveLink implements audience.LifecycleStore.
func (s *Store) SaveLink(ctx context.Context, l audience.Link) (audience.Link, error) {
	l.Tags = normTags(l.Tags)
	out := l
	err := s.tx(ctx, func(tx *Tx) error {
		old, err := scanLink(tx.QueryRowContext(ctx, linkSelect+" WHERE channel = ? AND payload = ?", l.Channel, l.Payload))
		if err == nil {
			out = old
			if old.Source != l.Source || !slices.Equal(old.Tags, l.Tags) {
				return audience.ErrLinkTaken
			}
			return nil
		}
		if !errors.Is(err, audience.ErrNoLink) {
			return err
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO links (channel, payload, source, tags, url, created_at) VALUES (?, ?, ?, ?, ?, ?)",
			l.Channel, l.Payload, l.Source, tagsJSON(l.Tags), l.URL, ms(l.CreatedAt))
		return err
	})
	return out, err
}

const linkSelect = "SELECT channel, payload, source, tags, url, created_at FROM links"

func scanLink(sc interface{ Scan(...any) error }) (audience.Link, error) {
	var l audience.Link
	var tags string
	var at int64
	err := sc.Scan(&l.Channel, &l.Payload, &l.Source, &tags, &l.URL, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return l, audience.ErrNoLink
	}
	l.Tags, l.CreatedAt = parseTags(tags), fromMS(at)
	return l, err
}

// Link implements audience.LifecycleStore.
func (s *Store) Link(ctx context.Context, channel, payload string) (audience.Link, error) {
	return scanLink(s.r.QueryRowContext(ctx, linkSelect+" WHERE channel = ? AND payload = ?", channel, payload))
}

// Links implements audience.LifecycleStore.
func (s *Store) Links(ctx context.Context) ([]audience.Link, error) {
	rows, err := s.r.QueryContext(ctx, linkSelect+" ORDER BY created_at, channel, payload")
	if err != nil {
		return nil, fmt.Errorf("read links: %w", err)
	}
	defer rows.Close()
	var out []audience.Link
	for rows.Next() {
		l, err := scanLink(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// Events implements audience.LifecycleStore.
func (s *Store) Events(ctx context.Context, since time.Time, fn func(audience.HistoryEvent) error) (int, error) {
	var before int
	err := s.r.QueryRowContext(ctx, `SELECT COALESCE(SUM(CASE WHEN kind = 'subscribed' THEN 1 ELSE 0 END)
		- SUM(CASE WHEN previous = 'subscribed' AND kind <> 'subscribed' THEN 1 ELSE 0 END), 0)
		FROM audience_events WHERE at < ?`, ms(since)).Scan(&before)
	if err != nil {
		return 0, fmt.Errorf("count audience: %w", err)
	}
	rows, err := s.r.QueryContext(ctx, "SELECT subscriber_id, channel, kind, previous, source, ref, at FROM audience_events WHERE at >= ? ORDER BY at, id", ms(since))
	if err != nil {
		return 0, fmt.Errorf("read audience events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e audience.HistoryEvent
		var kind, prev string
		var at int64
		if err := rows.Scan(&e.SubscriberID, &e.Channel, &kind, &prev, &e.Source, &e.Ref, &at); err != nil {
			return 0, err
		}
		e.Kind, e.Previous, e.At = audience.Status(kind), audience.Status(prev), fromMS(at)
		if err := fn(e); err != nil {
			return 0, err
		}
	}
	return before, rows.Err()
}

// SourceCounts implements audience.LifecycleStore.
func (s *Store) SourceCounts(ctx context.Context) ([]audience.SourceCount, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT channel, consent_source, consent_ref, status, COUNT(*) FROM subscribers
		WHERE status <> 'forgotten' GROUP BY channel, consent_source, consent_ref, status ORDER BY 1, 2, 3, 4`)
	if err != nil {
		return nil, fmt.Errorf("count sources: %w", err)
	}
	defer rows.Close()
	var out []audience.SourceCount
	for rows.Next() {
		var c audience.SourceCount
		var st string
		if err := rows.Scan(&c.Channel, &c.Source, &c.Ref, &st, &c.Count); err != nil {
			return nil, err
		}
		c.Status = audience.Status(st)
		out = append(out, c)
	}
	return out, rows.Err()
}
