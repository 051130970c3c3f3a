-- herald schema, version 5: catalog sources.

-- What each campaign last saw of each product of a catalog source, to find
-- new products, price drops and products back in stock. Prices are exact
-- decimal strings ("15.10"), never floats. ref_price is what a price drop is
-- measured from; drop_at and back_at (Unix ms, 0: never) when those
-- triggers last announced the product, for the cooldown. Written in the
-- transaction that plans the run, like items_seen.
CREATE TABLE catalog_products (
    campaign     TEXT    NOT NULL,
    url          TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    price        TEXT    NOT NULL,
    currency     TEXT    NOT NULL,
    availability TEXT    NOT NULL,
    ref_price    TEXT    NOT NULL,
    drop_at      INTEGER NOT NULL DEFAULT 0,
    back_at      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign, url, key)
) WITHOUT ROWID;

-- How many times the campaign's source state was consumed: a run (or a
-- consume) commits only if nobody else consumed it since it was read, so
-- two processes (herald serve's poll and a campaign send) cannot both
-- announce the same items or products.
ALTER TABLE source_state ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
