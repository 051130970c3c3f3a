// Package sqlstore is herald's store on a SQL database: the logic and the
// statements the dialects share. store/sqlite (the embedded default) and
// store/postgres open a database, bring its schema up to date, and hand it
// here with their Dialect.
package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/heraldcli/herald/audience"
	"github.com/heraldcli/herald/campaign"
)

// Store implements campaign.Store and audience.Store on a SQL database.
type Store struct {
	d *dialect
	w db // writes
	r db // reads (the same pool, or a pool of readers)

	// The ledger's hot statements, prepared once on the writer.
	markSending, recordSent, recordOutcomes *sql.Stmt
	// tombstoneKey keys the hash a forgotten address becomes.
	tombstoneKey []byte
}

var (
	_ campaign.Store          = (*Store)(nil)
	_ audience.Store          = (*Store)(nil)
	_ audience.LifecycleStore = (*Store)(nil)
)

// New makes a Store on w, through which it writes, and r, through which
// it reads (the same pool will do). Their schema must be up to date
// (Migrate). Close closes both.
func New(ctx context.Context, w, r *sql.DB, d Dialect) (*Store, error) {
	dl, err := newDialect(d)
	if err != nil {
		return nil, err
	}
	s := &Store{d: dl, w: db{w, dl}, r: db{r, dl}}
	if err := s.readTombstoneKey(ctx); err != nil {
		s.Close()
		return nil, err
	}
	for _, p := range []struct {
		st   **sql.Stmt
		name string
	}{{&s.markSending, "MarkSending"}, {&s.recordSent, "RecordSent"}, {&s.recordOutcomes, "RecordOutcomes"}} {
		if *p.st, err = s.w.PrepareContext(ctx, s.d.q(p.name)); err != nil {
			s.Close()
			return nil, fmt.Errorf("prepare %s: %w", p.name, err)
		}
	}
	return s, nil
}

// readTombstoneKey reads the store's tombstone key, making one the first time.
func (s *Store) readTombstoneKey(ctx context.Context) error {
	return s.tx(ctx, func(tx *Tx) error {
		err := tx.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'tombstone_key'").Scan(&s.tombstoneKey)
		if !errors.Is(err, sql.ErrNoRows) {
			if err != nil {
				return fmt.Errorf("read tombstone key: %w", err)
			}
			return nil
		}
		s.tombstoneKey = make([]byte, 32)
		rand.Read(s.tombstoneKey)
		if _, err := tx.ExecContext(ctx, "INSERT INTO meta (key, value) VALUES ('tombstone_key', ?)", s.tombstoneKey); err != nil {
			return fmt.Errorf("make tombstone key: %w", err)
		}
		return nil
	})
}

// Query returns the named statement as this store's database runs it.
func (s *Store) Query(name string) string { return s.d.bind(s.d.q(name)) }

// Close closes the database.
func (s *Store) Close() error {
	for _, st := range []*sql.Stmt{s.markSending, s.recordSent, s.recordOutcomes} {
		if st != nil {
			st.Close()
		}
	}
	if s.r.DB == s.w.DB {
		return s.w.Close()
	}
	return errors.Join(s.r.Close(), s.w.Close())
}

// tx runs fn in one write transaction.
func (s *Store) tx(ctx context.Context, fn func(*Tx) error) error {
	return inTx(ctx, s.w.DB, s.d, fn)
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

func tagsJSON(tags []string) string {
	if len(tags) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(tags)
	return string(b)
}

func parseTags(s string) []string {
	var tags []string
	if err := json.Unmarshal([]byte(s), &tags); err != nil || tags == nil {
		return []string{}
	}
	return tags
}

// Upsert implements audience.Store.
func (s *Store) Upsert(ctx context.Context, subs []audience.Subscriber, now time.Time) (audience.ImportStats, error) {
	var st audience.ImportStats
	err := s.tx(ctx, func(tx *Tx) error {
		st = audience.ImportStats{}
		sel, err := tx.PrepareContext(ctx, tx.q("UpsertSubscriberSelect"))
		if err != nil {
			return err
		}
		defer sel.Close()
		ins, err := tx.PrepareContext(ctx, tx.q("InsertSubscriber"))
		if err != nil {
			return err
		}
		defer ins.Close()
		upd, err := tx.PrepareContext(ctx, tx.q("UpdateSubscriber"))
		if err != nil {
			return err
		}
		defer upd.Close()
		for _, sub := range subs {
			var (
				id                                     int64
				name, locale, tz, tags, status, cs, cr string
				cp                                     string
				cat                                    int64
			)
			err := sel.QueryRowContext(ctx, sub.Channel, sub.Address).Scan(&id, &name, &locale, &tz, &tags, &status, &cat, &cs, &cr, &cp)
			if errors.Is(err, sql.ErrNoRows) {
				// Someone who asked to be forgotten comes back only with
				// consent given after that.
				gone, err := s.forgottenSince(ctx, tx, sub.Channel, sub.Address)
				if err != nil {
					return fmt.Errorf("look up subscriber %s:%s: %w", sub.Channel, sub.Address, err)
				}
				if !gone.IsZero() && !sub.Consent.At.After(gone) {
					st.Forgotten++
					continue
				}
				status := sub.Status
				if status == "" {
					status = audience.Subscribed
				}
				_, err = ins.ExecContext(ctx, sub.Channel, sub.Address, sub.Name, sub.Locale, sub.Timezone,
					tagsJSON(normTags(sub.Tags)), string(status), ms(sub.Consent.At), sub.Consent.Source,
					sub.Consent.Ref, sub.Consent.Proof, ms(now), ms(now))
				if err != nil {
					return fmt.Errorf("insert subscriber %s:%s: %w", sub.Channel, sub.Address, err)
				}
				st.Inserted++
				continue
			}
			if err != nil {
				return fmt.Errorf("look up subscriber %s:%s: %w", sub.Channel, sub.Address, err)
			}
			merged := normTags(append(parseTags(tags), sub.Tags...))
			nName, nLocale, nTZ := keep(sub.Name, name), keep(sub.Locale, locale), keep(sub.Timezone, tz)
			nCat, nCS, nCR, nCP := cat, cs, cr, cp
			if ms(sub.Consent.At) > cat {
				nCat, nCS, nCR, nCP = ms(sub.Consent.At), sub.Consent.Source, sub.Consent.Ref, sub.Consent.Proof
			}
			if status != string(audience.Subscribed) {
				st.KeptStatus++
			}
			if nName == name && nLocale == locale && nTZ == tz && tagsJSON(merged) == tags && nCat == cat && nCS == cs && nCR == cr && nCP == cp {
				st.Unchanged++
				continue
			}
			if _, err := upd.ExecContext(ctx, nName, nLocale, nTZ, tagsJSON(merged), nCat, nCS, nCR, nCP, ms(now), id); err != nil {
				return fmt.Errorf("update subscriber %s:%s: %w", sub.Channel, sub.Address, err)
			}
			st.Updated++
		}
		return nil
	})
	return st, err
}

func keep(newV, old string) string {
	if newV == "" {
		return old
	}
	return newV
}

func normTags(tags []string) []string {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

const subscriberCols = `s.id, s.channel, s.address, s.name, s.locale, s.timezone, s.tags, s.status,
	s.consent_at, s.consent_source, s.consent_ref, s.consent_proof, s.last_inbound_at, s.window_until, s.created_at, s.updated_at`

func scanSubscriber(sc interface{ Scan(...any) error }) (audience.Subscriber, error) {
	var (
		sub                     audience.Subscriber
		tags, status            string
		cat, lia, wu, cat2, upd int64
		cs, cr, cp              string
	)
	err := sc.Scan(&sub.ID, &sub.Channel, &sub.Address, &sub.Name, &sub.Locale, &sub.Timezone, &tags, &status,
		&cat, &cs, &cr, &cp, &lia, &wu, &cat2, &upd)
	if err != nil {
		return sub, err
	}
	sub.Tags = parseTags(tags)
	sub.Status = audience.Status(status)
	sub.Consent = audience.Consent{At: fromMS(cat), Source: cs, Ref: cr, Proof: cp}
	sub.LastInboundAt, sub.WindowUntil, sub.CreatedAt, sub.UpdatedAt = fromMS(lia), fromMS(wu), fromMS(cat2), fromMS(upd)
	return sub, nil
}

// Subscribers implements audience.Store.
func (s *Store) Subscribers(ctx context.Context, f audience.Filter, fn func(audience.Subscriber) error) error {
	where, args := s.d.filterWhere(f)
	rows, err := s.r.QueryContext(ctx, "SELECT "+subscriberCols+" FROM subscribers s WHERE "+where+" ORDER BY s.id", args...)
	if err != nil {
		return fmt.Errorf("list subscribers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		sub, err := scanSubscriber(rows)
		if err != nil {
			return fmt.Errorf("list subscribers: %w", err)
		}
		if err := fn(sub); err != nil {
			return err
		}
	}
	return rows.Err()
}

// SegmentCounts implements campaign.Store.
func (s *Store) SegmentCounts(ctx context.Context, channels []string, seg audience.Segment) ([]campaign.SegmentCount, error) {
	where, args := s.d.segmentWhere(channels, nil, seg)
	rows, err := s.r.QueryContext(ctx, "SELECT s.channel, s.status, COUNT(*) FROM subscribers s WHERE "+where+
		" GROUP BY s.channel, s.status ORDER BY s.channel, s.status", args...)
	if err != nil {
		return nil, fmt.Errorf("count segment: %w", err)
	}
	defer rows.Close()
	var out []campaign.SegmentCount
	for rows.Next() {
		var c campaign.SegmentCount
		var st string
		if err := rows.Scan(&c.Channel, &st, &c.Count); err != nil {
			return nil, err
		}
		c.Status = audience.Status(st)
		out = append(out, c)
	}
	return out, rows.Err()
}

// FirstInSegment implements campaign.Store.
func (s *Store) FirstInSegment(ctx context.Context, channels []string, seg audience.Segment) (audience.Subscriber, error) {
	where, args := s.d.segmentWhere(channels, []audience.Status{audience.Subscribed}, seg)
	sub, err := scanSubscriber(s.r.QueryRowContext(ctx, "SELECT "+subscriberCols+" FROM subscribers s WHERE "+where+" ORDER BY s.id LIMIT 1", args...))
	if errors.Is(err, sql.ErrNoRows) {
		return sub, campaign.ErrNotFound
	}
	return sub, err
}

// AddressOwner implements campaign.Store.
func (s *Store) AddressOwner(ctx context.Context, channel, address string) (int64, error) {
	var id int64
	err := s.r.QueryRowContext(ctx, s.r.q("AddressOwner"), channel, address).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, campaign.ErrNotFound
	}
	return id, err
}

// SourceState implements campaign.Store.
func (s *Store) SourceState(ctx context.Context, camp, u string) (campaign.SourceState, error) {
	st := campaign.SourceState{Campaign: camp, URL: u}
	var fetched, waiting int64
	err := s.r.QueryRowContext(ctx, s.r.q("SourceState"), camp, u).Scan(&st.Validators.ETag, &st.Validators.LastModified, &fetched, &waiting, &st.Generation)
	if errors.Is(err, sql.ErrNoRows) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("read source state: %w", err)
	}
	st.Initialized, st.FetchedAt, st.WaitingSince = true, fromMS(fetched), fromMS(waiting)
	return st, nil
}

// Unseen implements campaign.Store.
func (s *Store) Unseen(ctx context.Context, camp string, keys []string) (map[string]bool, error) {
	out := make(map[string]bool, len(keys))
	stmt, err := s.r.PrepareContext(ctx, s.r.q("ItemSeen"))
	if err != nil {
		return nil, err
	}
	defer stmt.Close()
	for _, k := range keys {
		var one int
		err := stmt.QueryRowContext(ctx, camp, k).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			out[k] = true
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read seen items: %w", err)
		}
	}
	return out, nil
}

// SetStatus implements audience.Store.
func (s *Store) SetStatus(ctx context.Context, channel, address string, st audience.Status, now time.Time) error {
	return s.tx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE subscribers SET status = ?, updated_at = ? WHERE channel = ? AND address = ?",
			string(st), ms(now), channel, address)
		if err != nil {
			return fmt.Errorf("set subscriber status: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return audience.ErrNoSubscriber
		}
		return nil
	})
}
