-- Mails to one recipient leave in the order they were enqueued: the SMTP worker
-- takes only a recipient's oldest undelivered mail (see Store::due_mail). This
-- finds "an older undelivered mail to the same address" without a scan; partial,
-- so mails stored as delivered to the local outbox never touch it.
CREATE INDEX mail_undelivered_to ON mail_outbox(to_addr, id) WHERE state IN ('pending', 'sending');
