-- herald schema, version 1. Times are Unix milliseconds (UTC).

CREATE TABLE subscribers (
    id              INTEGER PRIMARY KEY,
    channel         TEXT    NOT NULL,
    address         TEXT    NOT NULL,
    name            TEXT    NOT NULL DEFAULT '',
    locale          TEXT    NOT NULL DEFAULT '',
    timezone        TEXT    NOT NULL DEFAULT '',
    tags            TEXT    NOT NULL DEFAULT '[]', -- JSON array of strings, sorted
    status          TEXT    NOT NULL,
    consent_at      INTEGER NOT NULL,
    consent_source  TEXT    NOT NULL,
    consent_ref     TEXT    NOT NULL DEFAULT '',
    consent_proof   TEXT    NOT NULL DEFAULT '',
    last_inbound_at INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (channel, address)
);
CREATE INDEX subscribers_status ON subscribers (channel, status);

CREATE TABLE runs (
    id              INTEGER PRIMARY KEY,
    campaign        TEXT    NOT NULL,
    trigger         TEXT    NOT NULL,
    idempotency_key TEXT,
    state           TEXT    NOT NULL,
    items           TEXT    NOT NULL DEFAULT '[]', -- JSON snapshot of the run's items
    error           TEXT    NOT NULL DEFAULT '',
    owner           TEXT    NOT NULL DEFAULT '',
    lease_until     INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    started_at      INTEGER NOT NULL DEFAULT 0,
    finished_at     INTEGER NOT NULL DEFAULT 0,
    UNIQUE (campaign, idempotency_key)
);
CREATE INDEX runs_campaign ON runs (campaign, id);
-- At most one unfinished run per campaign.
CREATE UNIQUE INDEX runs_one_active ON runs (campaign)
    WHERE state IN ('planning', 'sending', 'paused', 'aborted');

CREATE TABLE deliveries (
    id            INTEGER PRIMARY KEY,
    run_id        INTEGER NOT NULL REFERENCES runs (id),
    subscriber_id INTEGER NOT NULL REFERENCES subscribers (id),
    seq           INTEGER NOT NULL DEFAULT 0, -- part: the item index in mode each
    channel       TEXT    NOT NULL,
    route         TEXT    NOT NULL,
    state         TEXT    NOT NULL,
    reason        TEXT    NOT NULL DEFAULT '',
    error         TEXT    NOT NULL DEFAULT '',
    attempts      INTEGER NOT NULL DEFAULT 0,
    message_ids   TEXT    NOT NULL DEFAULT '',
    started_at    INTEGER NOT NULL DEFAULT 0,
    finished_at   INTEGER NOT NULL DEFAULT 0,
    UNIQUE (run_id, subscriber_id, seq)
);
-- Only pending rows are looked up by state in the hot path; a partial index
-- keeps sending → sent from touching any index.
CREATE INDEX deliveries_pending ON deliveries (run_id, id) WHERE state = 'pending';

CREATE TABLE items_seen (
    campaign TEXT    NOT NULL,
    key      TEXT    NOT NULL,
    run_id   INTEGER NOT NULL,
    seen_at  INTEGER NOT NULL,
    PRIMARY KEY (campaign, key)
) WITHOUT ROWID;

CREATE TABLE source_state (
    campaign      TEXT    NOT NULL,
    url           TEXT    NOT NULL,
    etag          TEXT    NOT NULL DEFAULT '',
    last_modified TEXT    NOT NULL DEFAULT '',
    fetched_at    INTEGER NOT NULL,
    PRIMARY KEY (campaign, url)
) WITHOUT ROWID;
