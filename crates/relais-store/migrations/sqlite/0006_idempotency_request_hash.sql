-- What request an idempotency key answered (hex SHA-256 of its canonical
-- form), to refuse the key reused for another request instead of replaying
-- the first answer. Empty for records kept from before: they replay as before.
ALTER TABLE idempotency ADD COLUMN request_hash TEXT NOT NULL DEFAULT '';
