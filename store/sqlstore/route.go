package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/heraldcli/herald/audience"
	"github.com/heraldcli/herald/campaign"
)

// routeExpr is the SQL that picks a subscriber's route (alias s, opt-in
// alias o, part number seq): the first route the platform allows, in the
// order of campaign.Route*. Plan and RouteCounts use the same expression,
// so a dry run counts exactly what a send plans.
func routeExpr(p campaign.RoutePolicy, now time.Time, seq string) (string, []any) {
	at := ms(now)
	usable := "o.status = 'active' AND (o.expires_at = 0 OR o.expires_at > ?)"
	expr := `CASE
	WHEN s.channel = 'telegram' THEN '` + campaign.RouteBot + `'
	WHEN s.channel <> 'messenger' THEN '` + campaign.RouteStandard + `'
	WHEN s.window_until > ? THEN '` + campaign.RouteStandard + `'
	WHEN ? <> '' THEN '` + campaign.RouteTag + `'
	WHEN ` + usable + ` AND o.legacy = 1 AND o.last_recurring_at <= ? AND ` + seq + ` = 0 THEN '` + campaign.RouteRecurring + `'
	WHEN ? AND ` + usable + ` AND o.legacy = 0 THEN '` + campaign.RouteMarketing + `'
	ELSE '` + campaign.RouteNone + `' END`
	args := []any{at, p.Tag, at, at - campaign.RecurringInterval.Milliseconds(), p.Marketing, at}
	return expr, args
}

// RouteCounts implements campaign.Store.
func (s *Store) RouteCounts(ctx context.Context, req campaign.PlanRequest) ([]campaign.RouteCount, error) {
	route, rargs := routeExpr(req.Routes, req.Now, "0")
	where, wargs := s.d.segmentWhere(req.Channels, []audience.Status{audience.Subscribed}, req.Segment)
	stmt := `SELECT channel, route, COUNT(*) FROM (SELECT s.channel AS channel, ` + route + ` AS route
FROM subscribers s LEFT JOIN optins o ON o.subscriber_id = s.id WHERE ` + where + `) AS r
GROUP BY channel, route ORDER BY channel, route`
	rows, err := s.r.QueryContext(ctx, stmt, append(rargs, wargs...)...)
	if err != nil {
		return nil, fmt.Errorf("count routes: %w", err)
	}
	defer rows.Close()
	var out []campaign.RouteCount
	for rows.Next() {
		var c campaign.RouteCount
		if err := rows.Scan(&c.Channel, &c.Route, &c.Count); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Interact implements audience.Store. Both times only move forward, so a
// replayed webhook changes nothing.
func (s *Store) Interact(ctx context.Context, in audience.Interaction) error {
	at := ms(in.At)
	until := ms(in.At.Add(in.Window))
	return s.tx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, tx.q("Interact"), at, until, at, at, in.Channel, in.Address)
		if err != nil {
			return fmt.Errorf("record interaction: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return audience.ErrNoSubscriber
		}
		return nil
	})
}

// SetOptIn implements audience.Store.
func (s *Store) SetOptIn(ctx context.Context, channel, address string, o audience.OptIn) error {
	return s.tx(ctx, func(tx *Tx) error {
		var id int64
		if err := tx.QueryRowContext(ctx, tx.q("AddressOwner"), channel, address).Scan(&id); errors.Is(err, sql.ErrNoRows) {
			return audience.ErrNoSubscriber
		} else if err != nil {
			return err
		}
		var err error
		if o.Token == "" {
			_, err = tx.ExecContext(ctx, tx.q("SetOptInStatus"), string(o.Status), ms(o.At), id, ms(o.At))
		} else {
			legacy := 0
			if o.Legacy {
				legacy = 1
			}
			_, err = tx.ExecContext(ctx, tx.q("SetOptIn"), id, o.Token, string(o.Status), ms(o.ExpiresAt), o.Timezone, legacy, ms(o.At))
		}
		if err != nil {
			return fmt.Errorf("record opt-in: %w", err)
		}
		return nil
	})
}

// Receipt implements campaign.Store. Receipts are a Messenger feature; the
// query names the channel literally so SQLite uses the partial index.
func (s *Store) Receipt(ctx context.Context, channel, address string, state campaign.DeliveryState, watermark time.Time, mids []string) (int, error) {
	if channel != audience.ChannelMessenger || (state != campaign.Delivered && state != campaign.Read) {
		return 0, nil
	}
	var n int64
	err := s.tx(ctx, func(tx *Tx) error {
		var res sql.Result
		var err error
		if len(mids) > 0 {
			list, _ := json.Marshal(mids)
			res, err = tx.ExecContext(ctx, tx.q("ReceiptByMids"), string(state), address, string(state), string(list))
		} else {
			res, err = tx.ExecContext(ctx, tx.q("ReceiptByWatermark"), string(state), address, string(state), ms(watermark))
		}
		if err != nil {
			return fmt.Errorf("record receipt: %w", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return int(n), err
}
