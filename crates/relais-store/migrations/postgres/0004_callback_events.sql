-- Which status changes of a campaign's messages are pushed to its callback:
-- 'all' or 'final' (relais_store::CallbackEvents); NULL: the account's
-- settings.webhooks.callback_events, itself 'all' when unset.
ALTER TABLE campaigns ADD COLUMN callback_events TEXT;
