-- Long messages reported part by part, receipts that arrive before their
-- submit response, SMPP logins and receipts, reply URLs.

-- One row per part of a submitted message: the connector's id for it. Reports
-- match here by (connector, carrier id); `messages.carrier_id` keeps the first
-- part's id for reading. An id a connector reuses later names the new part.
-- `message_id` has no REFERENCES: parts are only written with the submission
-- of their message, and the check would cost a lookup per part.
CREATE TABLE message_parts (
    connector   TEXT NOT NULL,
    carrier_id  TEXT NOT NULL,
    message_id  INTEGER NOT NULL,
    -- 0-based position, and how many parts the message has.
    part        INTEGER NOT NULL,
    parts       INTEGER NOT NULL,
    -- For a part of a long message, the status its report brought (NULL until
    -- then); a single part's status is its message's, and is not repeated here.
    status      TEXT,
    PRIMARY KEY (connector, carrier_id)
) STRICT, WITHOUT ROWID;
-- The other parts of a long message, to tell when all are delivered. A
-- single-part message (most of them) needs no such lookup and stays out.
CREATE INDEX message_parts_multi ON message_parts (message_id) WHERE parts > 1;

-- Reports now match parts, not messages.
DROP INDEX messages_carrier;

-- The parts of messages awaiting their report. Ids stored before this
-- migration may be several joined with ',' (one per part): split them.
WITH RECURSIVE split (message_id, connector, parts, part, carrier_id, rest) AS (
    SELECT id, connector, length(carrier_id) - length(replace(carrier_id, ',', '')) + 1,
           -1, NULL, carrier_id || ','
    FROM messages
    WHERE status = 'submitted' AND connector IS NOT NULL AND carrier_id IS NOT NULL
    UNION ALL
    SELECT message_id, connector, parts, part + 1, substr(rest, 1, instr(rest, ',') - 1),
           substr(rest, instr(rest, ',') + 1)
    FROM split WHERE rest <> ''
)
INSERT OR REPLACE INTO message_parts (connector, carrier_id, message_id, part, parts, status)
SELECT connector, carrier_id, message_id, part, parts, NULL
FROM split WHERE carrier_id IS NOT NULL;
UPDATE messages SET carrier_id = substr(carrier_id, 1, instr(carrier_id, ',') - 1)
WHERE status = 'submitted' AND instr(carrier_id, ',') > 0;

-- Delivery reports whose (connector, carrier id) no part has yet: an SMSC may
-- send a receipt before the submit response has been recorded. Recording the
-- submission applies them; those never matched are purged after a week.
CREATE TABLE pending_reports (
    id          INTEGER PRIMARY KEY,
    connector   TEXT NOT NULL,
    carrier_id  TEXT NOT NULL,
    status      TEXT NOT NULL,
    detail      TEXT,
    at          INTEGER NOT NULL,
    UNIQUE (connector, carrier_id)
) STRICT;
CREATE INDEX pending_reports_at ON pending_reports (at);

-- SMS Partner's `urlResponse`: where replies to the campaign's messages go.
ALTER TABLE campaigns ADD COLUMN reply_url TEXT;

-- The SMPP login of an account (AccountSettings::smpp), derived from its
-- settings so it can never disagree with them; unique across accounts.
ALTER TABLE accounts ADD COLUMN smpp_system_id TEXT
    GENERATED ALWAYS AS (settings ->> '$.smpp.system_id') VIRTUAL;
CREATE UNIQUE INDEX accounts_smpp_system_id ON accounts (smpp_system_id)
    WHERE smpp_system_id IS NOT NULL;

-- Status callbacks of SMPP clients (url `smpp:`) go back as delivery receipts
-- over their binds, not over HTTP: each kind of callback is claimed from an
-- index of its own.
ALTER TABLE webhooks ADD COLUMN via_smpp INTEGER
    GENERATED ALWAYS AS (url LIKE 'smpp:%') VIRTUAL;
DROP INDEX webhooks_pending;
CREATE INDEX webhooks_pending ON webhooks (next_attempt_at) WHERE state = 'pending' AND NOT via_smpp;
CREATE INDEX webhooks_pending_smpp ON webhooks (account_id, next_attempt_at)
    WHERE state = 'pending' AND via_smpp;
