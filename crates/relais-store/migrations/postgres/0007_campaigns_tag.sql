-- Campaigns found by their tag (the SMPP door's message_id of a concatenated submit).
CREATE INDEX campaigns_account_tag ON campaigns (account_id, tag) WHERE tag IS NOT NULL;
