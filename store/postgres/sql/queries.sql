-- PostgreSQL's own statements (see store/sqlstore/sql/queries.sql for the
-- shared ones): batches arrive as JSON and are read with the jsonb
-- functions; parameters whose type PostgreSQL cannot infer are cast. A
-- batch's ids are also given as "id = ANY (ARRAY(…))": the planner cannot
-- see how few rows a JSON function returns, and without it would scan the
-- whole ledger to join them.

-- name: MarkSending
-- Moves a batch (a JSON array of ids) from pending to sending in one
-- statement, and returns each id it moved with whether it is to be sent: a
-- delivery whose subscriber unsubscribed, blocked the bot or was forgotten
-- since it was read is skipped instead (the status is the reason), never
-- sent.
UPDATE deliveries SET
    state = CASE s.status WHEN 'subscribed' THEN 'sending' ELSE 'skipped' END,
    reason = CASE s.status WHEN 'subscribed' THEN deliveries.reason ELSE s.status END,
    attempts = deliveries.attempts + CASE s.status WHEN 'subscribed' THEN 1 ELSE 0 END,
    started_at = CASE s.status WHEN 'subscribed' THEN ?1::bigint ELSE deliveries.started_at END,
    finished_at = CASE s.status WHEN 'subscribed' THEN deliveries.finished_at ELSE ?1::bigint END
FROM subscribers AS s
WHERE s.id = deliveries.subscriber_id AND deliveries.run_id = ?2 AND deliveries.state = 'pending'
  AND deliveries.id = ANY (ARRAY(SELECT value::bigint FROM jsonb_array_elements_text(?3::jsonb)))
RETURNING deliveries.id, deliveries.state = 'sending';

-- name: SkipCapped
-- With a frequency cap: before a batch is marked, a delivery whose
-- subscriber other runs reached cap times within the period is skipped.
-- Parameters: now, run, ids (JSON), period start, cap.
UPDATE deliveries SET state = 'skipped', reason = 'frequency_cap', finished_at = ?1::bigint
WHERE run_id = ?2 AND state = 'pending' AND id = ANY (ARRAY(SELECT value::bigint FROM jsonb_array_elements_text(?3::jsonb)))
  AND (SELECT status FROM subscribers WHERE id = deliveries.subscriber_id) = 'subscribed'
  AND NOT EXISTS (SELECT 1 FROM contacts c WHERE c.subscriber_id = deliveries.subscriber_id AND c.run_id = ?2)
  AND (SELECT COUNT(*) FROM contacts c WHERE c.subscriber_id = deliveries.subscriber_id AND c.at > ?4::bigint) >= ?5::bigint
RETURNING id;

-- name: RecordContacts
-- Counts the marked deliveries (a JSON array of ids) for the frequency cap.
INSERT INTO contacts (subscriber_id, run_id, at)
SELECT subscriber_id, run_id, ?1::bigint FROM deliveries
WHERE id = ANY (ARRAY(SELECT value::bigint FROM jsonb_array_elements_text(?2::jsonb)))
ON CONFLICT (subscriber_id, run_id) DO NOTHING;

-- name: RecordSent
-- Marked deliveries the platform accepted, as one JSON object from
-- delivery id to message ids. A takeover may have recovered them as unknown.
UPDATE deliveries SET state = 'sent', reason = '', error = '', message_ids = o.value, finished_at = ?1::bigint
FROM jsonb_each_text(?2::jsonb) AS o
WHERE deliveries.id = o.key::bigint AND deliveries.run_id = ?3
  AND deliveries.id = ANY (ARRAY(SELECT key::bigint FROM jsonb_each_text(?2::jsonb)))
  AND deliveries.state IN ('sending', 'unknown');

-- name: RecordOutcomes
-- Any other outcomes, a JSON array of objects. A marked outcome replaces
-- sending (or unknown, if a takeover recovered it); an unmarked one applies
-- only to a pending delivery.
UPDATE deliveries SET state = o.state, reason = o.reason, error = o.error,
    message_ids = o.ids, finished_at = ?1::bigint
FROM jsonb_to_recordset(?2::jsonb) AS o(id bigint, marked boolean, state text, reason text, error text, ids text)
WHERE deliveries.id = o.id AND deliveries.run_id = ?3
  AND deliveries.id = ANY (ARRAY(SELECT (value ->> 'id')::bigint FROM jsonb_array_elements(?2::jsonb)))
  AND CASE WHEN o.marked THEN deliveries.state IN ('sending', 'unknown')
           ELSE deliveries.state = 'pending' END;

-- name: Interact
-- Both times only move forward. The window moves only for an event at least
-- as new as the last one.
UPDATE subscribers SET
    window_until = CASE WHEN ?1::bigint >= last_inbound_at THEN GREATEST(window_until, ?2::bigint)
                        ELSE window_until END,
    last_inbound_at = GREATEST(last_inbound_at, ?3::bigint), updated_at = ?4::bigint
WHERE channel = ?5 AND address = ?6;

-- name: CloseWindow
UPDATE subscribers SET window_until = LEAST(window_until, ?1::bigint) WHERE id = ?2;

-- name: ReceiptByMids
UPDATE deliveries SET state = ?1
WHERE subscriber_id = (SELECT id FROM subscribers WHERE channel = 'messenger' AND address = ?2)
  AND channel = 'messenger' AND state IN ('sent', 'delivered') AND state <> ?3
  AND EXISTS (SELECT 1 FROM jsonb_array_elements_text(?4::jsonb) AS m(value)
              WHERE position(',' || m.value || ',' IN ',' || deliveries.message_ids || ',') > 0);
