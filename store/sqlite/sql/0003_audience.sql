-- herald schema, version 3: the inbound lifecycle (start, stop, blocks,
-- replies), acquisition links, audience history and tombstones.

-- When the subscriber last got the automatic default reply (Unix ms): it
-- goes out at most once per automations.default_reply.every.
ALTER TABLE subscribers ADD COLUMN auto_reply_at INTEGER NOT NULL DEFAULT 0;

-- Inbound events already handled, by their platform id (a Telegram update,
-- a Messenger message id): one delivered twice is applied once. Pruned
-- after a week; the platforms redeliver for a day at most.
CREATE TABLE inbound_seen (
    channel TEXT    NOT NULL,
    key     TEXT    NOT NULL,
    seen_at INTEGER NOT NULL,
    PRIMARY KEY (channel, key)
) WITHOUT ROWID;
CREATE INDEX inbound_seen_at ON inbound_seen (seen_at);

-- Named positions in inbound streams: the Telegram getUpdates offset, per
-- bot, so a restart neither loses nor replays updates.
CREATE TABLE cursors (
    name       TEXT    PRIMARY KEY,
    value      INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Acquisition links (herald audience link): the payload a deep link or
-- m.me ref carries, and what it means.
CREATE TABLE links (
    channel    TEXT    NOT NULL,
    payload    TEXT    NOT NULL,
    source     TEXT    NOT NULL,
    tags       TEXT    NOT NULL DEFAULT '[]', -- JSON array, sorted
    url        TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (channel, payload)
) WITHOUT ROWID;

-- Every change of a subscriber's status, written by the triggers below
-- whichever code path made it: growth and churn are counted from here.
-- Only the consent source and ref are kept, never personal data, so the
-- history of a forgotten person stays as anonymous counts.
CREATE TABLE audience_events (
    id            INTEGER PRIMARY KEY,
    subscriber_id INTEGER NOT NULL REFERENCES subscribers (id),
    channel       TEXT    NOT NULL,
    kind          TEXT    NOT NULL,            -- the new status
    previous      TEXT    NOT NULL DEFAULT '', -- the old status; '' when new
    source        TEXT    NOT NULL DEFAULT '', -- consent source, for kind subscribed
    ref           TEXT    NOT NULL DEFAULT '', -- consent ref (link payload), for kind subscribed
    at            INTEGER NOT NULL
);
CREATE INDEX audience_events_at ON audience_events (at);
CREATE INDEX audience_events_subscriber ON audience_events (subscriber_id, id);

INSERT INTO audience_events (subscriber_id, channel, kind, source, ref, at)
SELECT id, channel, 'subscribed', consent_source, consent_ref, consent_at FROM subscribers;
INSERT INTO audience_events (subscriber_id, channel, kind, previous, at)
SELECT id, channel, status, 'subscribed', updated_at FROM subscribers WHERE status <> 'subscribed';

CREATE TRIGGER subscribers_inserted AFTER INSERT ON subscribers BEGIN
    INSERT INTO audience_events (subscriber_id, channel, kind, source, ref, at)
    VALUES (new.id, new.channel, new.status, new.consent_source, new.consent_ref,
            CASE WHEN new.status = 'subscribed' AND new.consent_at > 0 THEN new.consent_at ELSE new.created_at END);
END;

CREATE TRIGGER subscribers_status AFTER UPDATE OF status ON subscribers
WHEN new.status <> old.status BEGIN
    INSERT INTO audience_events (subscriber_id, channel, kind, previous, source, ref, at)
    VALUES (new.id, new.channel, new.status, old.status,
            CASE WHEN new.status = 'subscribed' THEN new.consent_source ELSE '' END,
            CASE WHEN new.status = 'subscribed' THEN new.consent_ref ELSE '' END,
            new.updated_at);
END;

-- Store-wide settings. tombstone_key keys the hash that replaces a
-- forgotten person's address, so a re-import can recognise them without
-- herald keeping the address itself.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES ('tombstone_key', randomblob(32));
