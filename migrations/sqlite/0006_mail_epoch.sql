-- A phone user's registered mail address can be changed from the purchase pages
-- (confirmed by a link mailed to the new address) or by the admin. Each change
-- raises mail_epoch; a confirmation link names the epoch it was asked in and is
-- refused once the epoch has moved on, so an older request cannot undo a newer
-- change. mail_changed_at: when it last changed (NULL: never).
ALTER TABLE phone_users ADD COLUMN mail_epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE phone_users ADD COLUMN mail_changed_at INTEGER;
