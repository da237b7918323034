-- Mails are looked up by state only while undelivered: the due sweep (pending,
-- sending) and the backlog metrics (also failed). Delivered ones (sent, local:
-- nearly every mail) were nearly every entry of mail_due, never read through it,
-- and each purchase call's commit wrote a page of it. Now it holds undelivered
-- mails only, and failed ones have a small index of their own.
DROP INDEX mail_due;
CREATE INDEX mail_due ON mail_outbox(state, next_attempt_at) WHERE state IN ('pending', 'sending');
CREATE INDEX mail_failed ON mail_outbox(created_at) WHERE state = 'failed';
