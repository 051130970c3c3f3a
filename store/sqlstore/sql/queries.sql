-- Named statements every dialect shares (store/sqlstore). Each starts with
-- "-- name: Name". Placeholders are ? (or ?1, ?2… to use one twice); a
-- dialect with numbered placeholders gets $1, $2…. Statements a dialect
-- writes its own way are in its package's sql/queries.sql. Segment filters
-- are appended in Go (segment.go) because their shape depends on the
-- campaign.

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
VALUES (?, ?, ?, ?, 'planning', ?, ?)
RETURNING id;

-- name: InsertSkippedSlot
INSERT INTO runs (campaign, trigger, slot_at, state, error, created_at, finished_at)
VALUES (?, ?, ?, 'skipped', ?, ?, ?)
RETURNING id;

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

-- name: PruneContacts
DELETE FROM contacts WHERE at < ?;

-- name: AddressOwner
SELECT id FROM subscribers WHERE channel = ? AND address = ?;

-- name: SetSubscriberStatus
UPDATE subscribers SET status = ?, updated_at = ? WHERE id = ?;

-- name: SetSubscriberAddress
-- A new address that is already another subscriber's leaves both as they are.
UPDATE subscribers SET address = ?1, updated_at = ?2
WHERE id = ?3 AND NOT EXISTS (SELECT 1 FROM subscribers x WHERE x.channel = subscribers.channel AND x.address = ?1);

-- name: MoveDeliveries
-- Gives a subscriber's deliveries (?2) to another (?1), except those of a
-- run and part the other already has.
UPDATE deliveries SET subscriber_id = ?1
WHERE subscriber_id = ?2 AND NOT EXISTS (SELECT 1 FROM deliveries x
    WHERE x.subscriber_id = ?1 AND x.run_id = deliveries.run_id AND x.seq = deliveries.seq);

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

-- name: ReceiptByWatermark
UPDATE deliveries SET state = ?
WHERE subscriber_id = (SELECT id FROM subscribers WHERE channel = 'messenger' AND address = ?)
  AND channel = 'messenger' AND state IN ('sent', 'delivered') AND state <> ?
  AND finished_at <= ?;

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
