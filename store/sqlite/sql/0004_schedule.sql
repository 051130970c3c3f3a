-- herald schema, version 4: scheduled runs, held deliveries and the
-- frequency cap.

-- The slot a schedule created the run for (Unix ms; NULL for manual and CI
-- runs). Unique per campaign: a restart, the repeated hour of a DST
-- fall-back or a second instance cannot create the same slot twice. A slot
-- that was not sent is a run in state 'skipped' with the reason in error.
ALTER TABLE runs ADD COLUMN slot_at INTEGER;
CREATE UNIQUE INDEX runs_slot ON runs (campaign, slot_at) WHERE slot_at IS NOT NULL;

-- A run whose deliveries are held for later (local_time, quiet_hours) is
-- 'waiting' between dispatches; it is still the campaign's one active run.
DROP INDEX runs_one_active;
CREATE UNIQUE INDEX runs_one_active ON runs (campaign)
    WHERE state IN ('planning', 'sending', 'paused', 'waiting', 'aborted');

-- When a delivery may leave (Unix ms; 0: at once). Rows are planned in due
-- order, so the dispatcher's id-ordered scan meets them as they fall due.
ALTER TABLE deliveries ADD COLUMN due_at INTEGER NOT NULL DEFAULT 0;

-- Promotional messages that left, per subscriber and run, for the
-- workspace's frequency_cap. Written only while a cap is configured, in the
-- transaction that marks the delivery sending; pruned after the cap's period.
CREATE TABLE contacts (
    subscriber_id INTEGER NOT NULL,
    run_id        INTEGER NOT NULL,
    at            INTEGER NOT NULL,
    PRIMARY KEY (subscriber_id, run_id)
) WITHOUT ROWID;
CREATE INDEX contacts_at ON contacts (at);

-- A watched digest with min_items: since when new items have been waiting
-- (Unix ms; 0: none), so max_wait survives a restart.
ALTER TABLE source_state ADD COLUMN waiting_since INTEGER NOT NULL DEFAULT 0;
