-- A deadline for delivery reports: while a message is `submitted`, its
-- `lease_until` is the time its report is due by (the connector's report
-- timeout); past it the message becomes `expired` ("no delivery report"), so
-- that a lost receipt or a crash never leaves a message waiting forever.
-- This index finds those past due; reports leave it as they settle messages.
CREATE INDEX messages_unreported ON messages (lease_until) WHERE status = 'submitted';

-- Messages submitted before this migration get the default timeout (72 h)
-- from their submission.
UPDATE messages SET lease_until = updated_at + 259200000 WHERE status = 'submitted';
