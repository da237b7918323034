-- A mail queued from now on keeps its template's language and data (the JSON the
-- template is rendered with: links, numbers, the event as it was) instead of its
-- rendered bodies; the bodies are rendered when the mail is sent or looked at on
-- the outbox page. A rendered purchase-link mail is ~2 KB, its data ~250 bytes:
-- the outbox was four fifths of the database and of what each purchase call
-- wrote. The subject is still stored rendered (the outbox lists it).
-- Rows queued before keep their bodies (data NULL). New rows store '' in the
-- body columns rather than dropping NOT NULL, which on SQLite would mean
-- rewriting the largest table at upgrade.
ALTER TABLE mail_outbox ADD COLUMN lang TEXT;
ALTER TABLE mail_outbox ADD COLUMN data TEXT;
