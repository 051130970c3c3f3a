-- Named queries used by store/sqlite. Each starts with "-- name: Name".
-- Segment filters are appended in Go (segment.go) because their shape
-- depends on the campaign.

-- name: UpsertSubscriberSelect
SELECT id, name, locale, timezone, tags, status, consent_at, consent_source, consent_ref, consent_proof
FROM subscribers WHERE channel = ? AND address = ?;

-- name: InsertSubscriber
INSERT INTO subscribers (channel, address, name, locale, timezone, tags, status,
    consent_at, consent_source, consent_ref, consent_proof, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: UpdateSubscriber
UPDATE subscribers SET name = ?, locale = ?, timezone = ?, tags = ?,
    consent_at = ?, consent_source = ?, consent_ref = ?, consent_proof = ?, updated_at = ?
WHERE id = ?;

-- name: SourceState
SELECT etag, last_modified, fetched_at, waiting_since, generation FROM source_state WHERE campaign = ? AND url = ?;

-- name: SetWaitingSince
UPDATE source_state SET waiting_since = ? WHERE campaign = ? AND url = ?;

-- name: SaveSourceState
-- The last argument is the generation the state was read at: the update
-- happens only if it is still that one (0 for a state never saved).
INSERT INTO source_state (campaign, url, etag, last_modified, fetched_at, generation) VALUES (?, ?, ?, ?, ?, 1)
ON CONFLICT (campaign, url) DO UPDATE SET etag = excluded.etag,
    last_modified = excluded.last_modified, fetched_at = excluded.fetched_at, waiting_since = 0,
    generation = source_state.generation + 1
WHERE source_state.generation = ?;

-- name: ItemSeen
SELECT 1 FROM items_seen WHERE campaign = ? AND key = ?;

-- name: MarkSeen
INSERT INTO items_seen (campaign, key, run_id, seen_at) VALUES (?, ?, ?, ?)
ON CONFLICT (campaign, key) DO NOTHING;

-- name: InsertRun
INSERT INTO runs (campaign, trigger, idempotency_key, slot_at, state, items, created_at)
VALUES (?, ?, ?, ?, 'planning', ?, ?);

-- name: InsertSkippedSlot
INSERT INTO runs (campaign, trigger, slot_at, state, error, created_at, finished_at)
VALUES (?, ?, ?, 'skipped', ?, ?, ?);

-- name: LastSlot
SELECT COALESCE(MAX(slot_at), 0) FROM runs WHERE campaign = ? AND slot_at IS NOT NULL;

-- name: NextDue
SELECT COALESCE(MIN(due_at), 0) FROM deliveries WHERE run_id = ? AND state = 'pending';

-- name: PlanDone
UPDATE runs SET state = 'sending' WHERE id = ?;

-- name: RunColumns
SELECT id, campaign, trigger, COALESCE(idempotency_key, ''), COALESCE(slot_at, 0), state, items, error,
    created_at, started_at, finished_at FROM runs

-- name: Counts
SELECT channel, route, state, reason, COUNT(*) FROM deliveries WHERE run_id = ?
GROUP BY channel, route, state, reason ORDER BY channel, route, state, reason;

-- name: SentSpan
SELECT COALESCE(MIN(finished_at), 0), COALESCE(MAX(finished_at), 0)
FROM deliveries WHERE run_id = ? AND state IN ('sent', 'delivered', 'read');

-- name: RunLease
SELECT state, owner, lease_until FROM runs WHERE id = ?;

-- name: TakeLease
UPDATE runs SET owner = ?, lease_until = ?, state = 'sending', error = '',
    started_at = CASE WHEN started_at = 0 THEN ? ELSE started_at END
WHERE id = ?;

-- name: RecoverSending
UPDATE deliveries SET state = 'unknown', reason = 'interrupted',
    error = 'the process sending this message stopped before its outcome was recorded',
    finished_at = ?
WHERE run_id = ? AND state = 'sending';

-- name: RenewLease
UPDATE runs SET lease_until = ? WHERE id = ? AND owner = ?;

-- name: ReleaseLease
UPDATE runs SET owner = '', lease_until = 0, state = ?, error = ?,
    finished_at = CASE WHEN ? IN ('done', 'cancelled') THEN ? ELSE finished_at END
WHERE id = ? AND owner = ?;

-- name: CancelPending
UPDATE deliveries SET state = 'skipped', reason = 'cancelled', finished_at = ?
WHERE run_id = ? AND state = 'pending';

-- name: CancelRun
UPDATE runs SET state = 'cancelled', owner = '', lease_until = 0, finished_at = ? WHERE id = ?;

-- name: RequeueUnknown
UPDATE deliveries SET state = 'pending', reason = '', error = '', finished_at = 0
WHERE run_id = ? AND state = 'unknown';

-- name: ReopenRun
UPDATE runs SET state = 'paused', finished_at = 0, error = 'unknown deliveries requeued'
WHERE id = ? AND state NOT IN ('planning', 'sending', 'paused', 'waiting', 'aborted');

-- name: Pending
SELECT d.id, d.seq, d.route, s.id, s.channel, s.address, s.name, s.locale, s.timezone, s.tags, s.status,
    s.last_inbound_at, s.window_until, CASE WHEN o.status = 'active' THEN o.token ELSE '' END
FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
    LEFT JOIN optins o ON o.subscriber_id = d.subscriber_id AND d.route IN ('recurring', 'marketing')
WHERE d.run_id = ? AND d.state = 'pending' AND d.id > ? AND d.due_at <= ?
ORDER BY d.id LIMIT ?;

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

-- name: PruneContacts
DELETE FROM contacts WHERE at < ?;

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

-- name: AddressOwner
SELECT id FROM subscribers WHERE channel = ? AND address = ?;

-- name: SetSubscriberStatus
UPDATE subscribers SET status = ?, updated_at = ? WHERE id = ?;

-- name: SetSubscriberAddress
UPDATE subscribers SET address = ?, updated_at = ? WHERE id = ?;

-- name: Interact
-- Both times only move forward. The window moves only for an event at least
-- as new as the last one: a replayed old event cannot reopen a window Meta
-- said had closed.
UPDATE subscribers SET
    window_until = CASE WHEN ? >= last_inbound_at THEN MAX(window_until, ?)
                        ELSE window_until END,
    last_inbound_at = MAX(last_inbound_at, ?), updated_at = ?
WHERE channel = ? AND address = ?;

-- name: SetOptIn
-- A new token replaces the old one unless the stored one comes from a newer
-- event; the 48-hour recurring cap belongs to the person and is kept.
INSERT INTO optins (subscriber_id, token, status, expires_at, timezone, legacy, event_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (subscriber_id) DO UPDATE SET token = excluded.token, status = excluded.status,
    expires_at = excluded.expires_at, timezone = excluded.timezone, legacy = excluded.legacy,
    event_at = excluded.event_at
WHERE excluded.event_at >= optins.event_at;

-- name: SetOptInStatus
UPDATE optins SET status = ?, event_at = ? WHERE subscriber_id = ? AND event_at <= ?;

-- name: CloseWindow
UPDATE subscribers SET window_until = MIN(window_until, ?) WHERE id = ?;

-- name: ReceiptByWatermark
UPDATE deliveries SET state = ?
WHERE subscriber_id = (SELECT id FROM subscribers WHERE channel = 'messenger' AND address = ?)
  AND channel = 'messenger' AND state IN ('sent', 'delivered') AND state <> ?
  AND finished_at <= ?;

-- name: ReceiptByMids
UPDATE deliveries SET state = ?
WHERE subscriber_id = (SELECT id FROM subscribers WHERE channel = 'messenger' AND address = ?)
  AND channel = 'messenger' AND state IN ('sent', 'delivered') AND state <> ?
  AND EXISTS (SELECT 1 FROM json_each(?) m
              WHERE instr(',' || deliveries.message_ids || ',', ',' || m.value || ',') > 0);

-- name: UseRecurring
UPDATE optins SET last_recurring_at = ?
WHERE subscriber_id IN (SELECT subscriber_id FROM deliveries WHERE run_id = ? AND route = 'recurring');

-- name: ProductStates
SELECT key, price, currency, availability, ref_price, drop_at, back_at
FROM catalog_products WHERE campaign = ? AND url = ?;

-- name: SaveProductState
INSERT INTO catalog_products (campaign, url, key, price, currency, availability, ref_price, drop_at, back_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (campaign, url, key) DO UPDATE SET price = excluded.price, currency = excluded.currency,
    availability = excluded.availability, ref_price = excluded.ref_price,
    drop_at = excluded.drop_at, back_at = excluded.back_at;
