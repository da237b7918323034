-- The mail worker looks due mails up in the order they were enqueued (id):
-- through this index it reads the first undelivered ones and stops at its
-- limit. Ordered by (next_attempt_at, id) it read every due mail of a backlog
-- and sorted them, for each lookup (7 ms a lookup with a 6,000-mail backlog on
-- PostgreSQL, the database's largest cost in the cluster benchmark).
CREATE INDEX mail_undelivered ON mail_outbox(id) WHERE state IN ('pending', 'sending');
