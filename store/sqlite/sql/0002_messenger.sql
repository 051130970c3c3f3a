-- herald schema, version 2: Messenger routes and receipts.

-- When the subscriber's Messenger messaging window closes (Unix ms): 24 h
-- after their last message, postback or opt-in, 7 days after an ad click,
-- or earlier if Meta said it had closed.
ALTER TABLE subscribers ADD COLUMN window_until INTEGER NOT NULL DEFAULT 0;
UPDATE subscribers SET window_until = last_inbound_at + 86400000 WHERE last_inbound_at > 0;

-- A subscriber's Messenger marketing opt-in (notification_messages token),
-- as the newest event left it.
CREATE TABLE optins (
    subscriber_id     INTEGER PRIMARY KEY REFERENCES subscribers (id) ON DELETE CASCADE,
    token             TEXT    NOT NULL,
    status            TEXT    NOT NULL,           -- active | stopped
    expires_at        INTEGER NOT NULL DEFAULT 0, -- 0: no expiry given
    timezone          TEXT    NOT NULL DEFAULT '',
    legacy            INTEGER NOT NULL DEFAULT 0, -- in a legacy recurring-notification region
    last_recurring_at INTEGER NOT NULL DEFAULT 0, -- the 48-hour cap
    event_at          INTEGER NOT NULL            -- time of the event that set it
) WITHOUT ROWID;

-- Delivery and read receipts look up a Messenger subscriber's sent
-- deliveries; Telegram rows never enter this index.
CREATE INDEX deliveries_receipts ON deliveries (subscriber_id, finished_at)
    WHERE channel = 'messenger' AND state IN ('sent', 'delivered');
