-- A deadline for delivery reports: the submitted messages awaiting theirs,
-- each with the time it is due by (the connector's report timeout); past it
-- the message becomes `expired` ("no delivery report"), so that a lost
-- receipt or a crash never leaves a message waiting forever. A table of its
-- own, like `message_queue`, so that `messages` keeps no index on its status
-- (its updates stay HOT). A row is added with the submission and removed when
-- the message leaves `submitted`, by the statements that move it
-- (`postgres::transitions`).
CREATE TABLE awaiting_reports (
    message_id  BIGINT PRIMARY KEY,
    report_by   BIGINT NOT NULL
);
CREATE INDEX awaiting_reports_due ON awaiting_reports (report_by);

-- Messages submitted before this migration get the default timeout (72 h)
-- from their submission.
INSERT INTO awaiting_reports (message_id, report_by)
SELECT id, updated_at + 259200000 FROM messages WHERE status = 'submitted';
UPDATE messages SET lease_until = updated_at + 259200000 WHERE status = 'submitted';
