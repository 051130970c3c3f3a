-- SQLite's own statements (see store/sqlstore/sql/queries.sql for the
-- shared ones): those that take a batch as a JSON parameter, and scalar
-- MAX and MIN.

-- name: MarkSending
-- Moves a batch (a JSON array of ids) from pending to sending in one
-- statement, and returns each id it moved with whether it is to be sent: a
-- delivery whose subscriber unsubscribed, blocked the bot or was forgotten
-- since it was read is skipped instead (the status is the reason), never
-- sent. The unary + keeps SQLite on the primary key: the (run_id, state)
-- index would scan every pending row.
UPDATE deliveries SET
    state = CASE s.status WHEN 'subscribed' THEN 'sending' ELSE 'skipped' END,
    reason = CASE s.status WHEN 'subscribed' THEN deliveries.reason ELSE s.status END,
    attempts = deliveries.attempts + (s.status = 'subscribed'),
    started_at = CASE s.status WHEN 'subscribed' THEN ?1 ELSE deliveries.started_at END,
    finished_at = CASE s.status WHEN 'subscribed' THEN deliveries.finished_at ELSE ?1 END
FROM subscribers AS s
WHERE s.id = deliveries.subscriber_id AND +deliveries.run_id = ?2 AND +deliveries.state = 'pending'
  AND deliveries.id IN (SELECT value FROM json_each(?3))
RETURNING deliveries.id, deliveries.state = 'sending';

-- name: SkipCapped
-- With a frequency cap: before a batch is marked, a delivery whose
-- subscriber other runs reached cap times within the period is skipped.
-- Parameters: now, run, ids (JSON), period start, cap. A run that already
-- reached the subscriber (an earlier part) goes on; one who stopped is left
-- for MarkSending to skip with the stop as its reason.
UPDATE deliveries SET state = 'skipped', reason = 'frequency_cap', finished_at = ?1
WHERE +run_id = ?2 AND +state = 'pending' AND id IN (SELECT value FROM json_each(?3))
  AND (SELECT status FROM subscribers WHERE id = deliveries.subscriber_id) = 'subscribed'
  AND NOT EXISTS (SELECT 1 FROM contacts c WHERE c.subscriber_id = deliveries.subscriber_id AND c.run_id = ?2)
  AND (SELECT COUNT(*) FROM contacts c WHERE c.subscriber_id = deliveries.subscriber_id AND c.at > ?4) >= ?5
RETURNING id;

-- name: RecordContacts
-- Counts the marked deliveries (a JSON array of ids) for the frequency cap.
INSERT INTO contacts (subscriber_id, run_id, at)
SELECT subscriber_id, run_id, ? FROM deliveries WHERE id IN (SELECT value FROM json_each(?))
ON CONFLICT (subscriber_id, run_id) DO NOTHING;

-- name: RecordSent
-- The commonest outcome in the cheapest form: marked deliveries the platform
-- accepted, as one JSON object from delivery id to message ids (no
-- json_extract per row). A takeover may have recovered them as unknown.
UPDATE deliveries SET state = 'sent', reason = '', error = '', message_ids = o.value, finished_at = ?
FROM json_each(?) AS o
WHERE deliveries.id = CAST(o.key AS INTEGER) AND +deliveries.run_id = ?
  AND deliveries.state IN ('sending', 'unknown');

-- name: RecordOutcomes
-- Records a batch of any other outcomes, a JSON array of objects, in one statement.
-- A marked outcome replaces sending (or unknown, if a takeover recovered
-- it); an unmarked one applies only to a pending delivery.
UPDATE deliveries SET state = o.state, reason = o.reason, error = o.error,
    message_ids = o.message_ids, finished_at = ?
FROM (SELECT json_extract(value, '$.id') AS id, json_extract(value, '$.state') AS state,
             json_extract(value, '$.reason') AS reason, json_extract(value, '$.error') AS error,
             json_extract(value, '$.ids') AS message_ids, json_extract(value, '$.marked') AS marked
      FROM json_each(?)) AS o
WHERE deliveries.id = o.id AND +deliveries.run_id = ?
  AND CASE WHEN o.marked THEN deliveries.state IN ('sending', 'unknown')
           ELSE deliveries.state = 'pending' END;

-- name: Interact
-- Both times only move forward. The window moves only for an event at least
-- as new as the last one: a replayed old event cannot reopen a window Meta
-- said had closed.
UPDATE subscribers SET
    window_until = CASE WHEN ? >= last_inbound_at THEN MAX(window_until, ?)
                        ELSE window_until END,
    last_inbound_at = MAX(last_inbound_at, ?), updated_at = ?
WHERE channel = ? AND address = ?;

-- name: CloseWindow
UPDATE subscribers SET window_until = MIN(window_until, ?) WHERE id = ?;

-- name: ReceiptByMids
UPDATE deliveries SET state = ?
WHERE subscriber_id = (SELECT id FROM subscribers WHERE channel = 'messenger' AND address = ?)
  AND channel = 'messenger' AND state IN ('sent', 'delivered') AND state <> ?
  AND EXISTS (SELECT 1 FROM json_each(?) m
              WHERE instr(',' || deliveries.message_ids || ',', ',' || m.value || ',') > 0);

