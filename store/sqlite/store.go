// Package sqlite is herald's embedded store: one SQLite file in WAL mode,
// written through a single connection with BEGIN IMMEDIATE and read through a
// small pool. It uses modernc.org/sqlite, a pure-Go driver, so herald builds
// without cgo.
package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/heraldcli/herald/audience"
	"github.com/heraldcli/herald/campaign"
)

// Store implements campaign.Store and audience.Store on a SQLite file.
type Store struct {
	path string
	w    *sql.DB // the one writer connection
	r    *sql.DB // readers

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

// Open opens (creating if needed) the database at path and brings its schema
// up to date.
func Open(ctx context.Context, path string) (*Store, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create store folder: %w", err)
		}
	}
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(ON)"
	// The writer syncs every commit (FULL): a "sending" mark must survive a
	// power cut, or its delivery could be sent again after the reboot.
	// Group commit keeps the syncs few.
	w, err := sql.Open("sqlite", dsn+"&_pragma=synchronous(FULL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	r, err := sql.Open("sqlite", dsn)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	s := &Store{path: path, w: w, r: r}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := w.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'tombstone_key'").Scan(&s.tombstoneKey); err != nil {
		s.Close()
		return nil, fmt.Errorf("open store %s: read tombstone key: %w", path, err)
	}
	for _, p := range []struct {
		st   **sql.Stmt
		name string
	}{{&s.markSending, "MarkSending"}, {&s.recordSent, "RecordSent"}, {&s.recordOutcomes, "RecordOutcomes"}} {
		if *p.st, err = w.PrepareContext(ctx, q(p.name)); err != nil {
			break
		}
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("open store %s: prepare: %w", path, err)
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	for _, st := range []*sql.Stmt{s.markSending, s.recordSent, s.recordOutcomes} {
		if st != nil {
			st.Close()
		}
	}
	return errors.Join(s.r.Close(), s.w.Close())
}

func (s *Store) migrate(ctx context.Context) error {
	files, err := migrations()
	if err != nil {
		return err
	}
	var version int
	if err := s.w.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > len(files) {
		return fmt.Errorf("the database has schema version %d but this herald knows only %d: upgrade herald", version, len(files))
	}
	for i := version; i < len(files); i++ {
		body, err := sqlFiles.ReadFile(files[i])
		if err != nil {
			return err
		}
		err = s.tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("apply %s: %w", filepath.Base(files[i]), err)
			}
			_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", i+1))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// tx runs fn in one write transaction (BEGIN IMMEDIATE).
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
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
	err := s.tx(ctx, func(tx *sql.Tx) error {
		st = audience.ImportStats{}
		sel, err := tx.PrepareContext(ctx, q("UpsertSubscriberSelect"))
		if err != nil {
			return err
		}
		defer sel.Close()
		ins, err := tx.PrepareContext(ctx, q("InsertSubscriber"))
		if err != nil {
			return err
		}
		defer ins.Close()
		upd, err := tx.PrepareContext(ctx, q("UpdateSubscriber"))
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
	where, args := filterWhere(f)
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
	where, args := segmentWhere(channels, nil, seg)
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
	where, args := segmentWhere(channels, []audience.Status{audience.Subscribed}, seg)
	sub, err := scanSubscriber(s.r.QueryRowContext(ctx, "SELECT "+subscriberCols+" FROM subscribers s WHERE "+where+" ORDER BY s.id LIMIT 1", args...))
	if errors.Is(err, sql.ErrNoRows) {
		return sub, campaign.ErrNotFound
	}
	return sub, err
}

// AddressOwner implements campaign.Store.
func (s *Store) AddressOwner(ctx context.Context, channel, address string) (int64, error) {
	var id int64
	err := s.r.QueryRowContext(ctx, q("AddressOwner"), channel, address).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, campaign.ErrNotFound
	}
	return id, err
}

// SourceState implements campaign.Store.
func (s *Store) SourceState(ctx context.Context, camp, u string) (campaign.SourceState, error) {
	st := campaign.SourceState{Campaign: camp, URL: u}
	var fetched, waiting int64
	err := s.r.QueryRowContext(ctx, q("SourceState"), camp, u).Scan(&st.Validators.ETag, &st.Validators.LastModified, &fetched, &waiting, &st.Generation)
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
	stmt, err := s.r.PrepareContext(ctx, q("ItemSeen"))
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
	return s.tx(ctx, func(tx *sql.Tx) error {
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
