-- The relais schema for SQLite.
--
-- Conventions: times are epoch milliseconds (INTEGER), money is integer
-- micro-units (Amount::micros), phone numbers are E.164 strings ("+33612345678"),
-- countries ISO alpha-2 strings, enums their `as_str()` text. Tables are STRICT
-- so a wrong type is an error, not a silent conversion.

CREATE TABLE accounts (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    email       TEXT UNIQUE,
    -- NULL: postpaid, no credit limit.
    balance     INTEGER CHECK (balance IS NULL OR balance >= 0),
    sandbox     INTEGER NOT NULL DEFAULT 0,
    disabled    INTEGER NOT NULL DEFAULT 0,
    -- AccountSettings as JSON.
    settings    TEXT NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE api_keys (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    token_hash  TEXT NOT NULL UNIQUE,
    prefix      TEXT NOT NULL,
    label       TEXT,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
) STRICT;
CREATE INDEX api_keys_account ON api_keys (account_id);

CREATE TABLE campaigns (
    id             INTEGER PRIMARY KEY,
    account_id     INTEGER NOT NULL REFERENCES accounts (id),
    -- The door it came through: "api", "smsfactor", "smpp", …
    source         TEXT NOT NULL,
    kind           TEXT NOT NULL,
    route_class    TEXT NOT NULL,
    sender         TEXT,
    send_at        INTEGER NOT NULL,
    expires_at     INTEGER,
    callback_url   TEXT,
    tag            TEXT,
    -- Planning counters (relais_core::plan::Counters).
    total          INTEGER NOT NULL,
    sent           INTEGER NOT NULL,
    blacklisted    INTEGER NOT NULL,
    duplicated     INTEGER NOT NULL,
    npai           INTEGER NOT NULL,
    invalid        INTEGER NOT NULL,
    not_allowed    INTEGER NOT NULL,
    flood          INTEGER NOT NULL,
    country_limit  INTEGER NOT NULL,
    cost           INTEGER NOT NULL,
    refunded       INTEGER NOT NULL DEFAULT 0,
    -- Set by the first cancel that cancelled something; the campaign status is
    -- otherwise derived from its messages.
    cancelled_at   INTEGER,
    created_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX campaigns_account ON campaigns (account_id, created_at);

-- One row per distinct text of a campaign: a 100,000-message campaign with one
-- text stores it once, and its messages point at it by `idx` (Plan::texts).
CREATE TABLE campaign_texts (
    campaign_id  INTEGER NOT NULL REFERENCES campaigns (id),
    idx          INTEGER NOT NULL,
    text         TEXT NOT NULL,
    encoding     TEXT NOT NULL,
    segments     INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, idx)
) STRICT;

CREATE TABLE messages (
    id           INTEGER PRIMARY KEY,
    campaign_id  INTEGER NOT NULL REFERENCES campaigns (id),
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    number       TEXT NOT NULL,
    country      TEXT NOT NULL,
    client_ref   TEXT,
    text_idx     INTEGER NOT NULL,
    segments     INTEGER NOT NULL,
    cost         INTEGER NOT NULL,
    status       TEXT NOT NULL,
    send_at      INTEGER NOT NULL,
    expires_at   INTEGER,
    -- While `submitting`: when the dispatcher's lease runs out.
    lease_until  INTEGER,
    -- Submit attempts recorded so far.
    attempts     INTEGER NOT NULL DEFAULT 0,
    connector    TEXT,
    carrier_id   TEXT,
    error        TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;
-- The messages still on their way to a connector, one partial index per
-- status: claiming (queued by send_at), due scheduled messages, expired
-- leases. A status change only touches the indexes of the statuses it leaves
-- and reaches, and later ones (reports) none. Each condition is a single
-- `status = '…'`: SQLite evaluates such a condition cheaply on every update of
-- `status`, where an `IN (…)` list would cost more than the index itself.
CREATE INDEX messages_scheduled ON messages (send_at) WHERE status = 'scheduled';
CREATE INDEX messages_queued ON messages (send_at) WHERE status = 'queued';
CREATE INDEX messages_leased ON messages (lease_until) WHERE status = 'submitting';
-- Delivery reports match by the connector's id.
CREATE INDEX messages_carrier ON messages (connector, carrier_id) WHERE carrier_id IS NOT NULL;
-- A campaign's messages, in order. Not by status: status changes would then
-- have to move every message in this index too (see campaign_counts).
CREATE INDEX messages_campaign ON messages (campaign_id);
-- A client reference within a campaign (SMSFactor's gsmsmsid).
CREATE INDEX messages_client_ref ON messages (campaign_id, client_ref) WHERE client_ref IS NOT NULL;
-- The last message to a number, for any account (inbound replies) or one.
CREATE INDEX messages_number ON messages (number, account_id, created_at);
-- An account's recent messages: anti-flood and monthly per-country counts
-- (covering for the latter).
CREATE INDEX messages_account_recent ON messages (account_id, created_at, country);
-- Unsent messages with a sending window, for expiry.
CREATE INDEX messages_scheduled_expiry ON messages (expires_at)
    WHERE status = 'scheduled' AND expires_at IS NOT NULL;
CREATE INDEX messages_queued_expiry ON messages (expires_at)
    WHERE status = 'queued' AND expires_at IS NOT NULL;

-- How many messages of each campaign are in each status, kept by every status
-- change in the same transaction. A campaign's status and counts, and the
-- store-wide totals, are read from here instead of counting messages.
CREATE TABLE campaign_counts (
    campaign_id  INTEGER NOT NULL REFERENCES campaigns (id),
    status       TEXT NOT NULL,
    n            INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, status)
) STRICT, WITHOUT ROWID;

-- Every status a message reached, in order (by id).
CREATE TABLE message_events (
    id          INTEGER PRIMARY KEY,
    message_id  INTEGER NOT NULL REFERENCES messages (id),
    status      TEXT NOT NULL,
    at          INTEGER NOT NULL,
    detail      TEXT
) STRICT;
CREATE INDEX message_events_message ON message_events (message_id);

-- Every credit movement: campaign debits (negative), refunds, top-ups.
CREATE TABLE ledger (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    amount       INTEGER NOT NULL,
    reason       TEXT NOT NULL,
    campaign_id  INTEGER REFERENCES campaigns (id),
    at           INTEGER NOT NULL
) STRICT;
CREATE INDEX ledger_account ON ledger (account_id);

-- Blacklist and NPAI ("n'habite pas à l'adresse indiquée": numbers no longer
-- in service) entries, one list per account and kind.
CREATE TABLE listed_numbers (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    list         TEXT NOT NULL CHECK (list IN ('blacklist', 'npai')),
    number       TEXT NOT NULL,
    source       TEXT NOT NULL,
    -- Free client fields as a JSON array of strings.
    info         TEXT NOT NULL DEFAULT '[]',
    campaign_id  INTEGER REFERENCES campaigns (id),
    added_at     INTEGER NOT NULL,
    UNIQUE (account_id, list, number)
) STRICT;

CREATE TABLE inbound (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    from_number  TEXT NOT NULL,
    to_address   TEXT NOT NULL,
    text         TEXT NOT NULL,
    connector    TEXT NOT NULL,
    is_stop      INTEGER NOT NULL,
    message_id   INTEGER REFERENCES messages (id),
    campaign_id  INTEGER REFERENCES campaigns (id),
    received_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX inbound_account ON inbound (account_id);

-- Client callbacks waiting to be delivered, enqueued in the same transaction
-- as the event they report.
CREATE TABLE webhooks (
    id               INTEGER PRIMARY KEY,
    account_id       INTEGER NOT NULL REFERENCES accounts (id),
    url              TEXT NOT NULL,
    kind             TEXT NOT NULL,
    source           TEXT NOT NULL,
    message_id       INTEGER REFERENCES messages (id),
    status           TEXT,
    inbound_id       INTEGER REFERENCES inbound (id),
    at               INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    lease_until      INTEGER,
    last_attempt_at  INTEGER,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'leased', 'delivered', 'failed')),
    last_error       TEXT
) STRICT;
-- Only undelivered callbacks are looked up, by time; finished ones stay out of
-- the indexes.
CREATE INDEX webhooks_pending ON webhooks (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhooks_leased ON webhooks (lease_until) WHERE state = 'leased';

CREATE TABLE idempotency (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    key          TEXT NOT NULL,
    campaign_id  INTEGER NOT NULL REFERENCES campaigns (id),
    body         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (account_id, key)
) STRICT;
