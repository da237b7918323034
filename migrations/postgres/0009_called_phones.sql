-- Whether a phone ever called us (the hardening issue, items 1-2). A web order
-- may name any phone as the ticket's receiver, which registers that phone without
-- a call; mails to a phone that never called are rate-limited, so a stranger's
-- declined orders cannot mail it again and again. NULL: never called. Phone users
-- registered before this migration are taken to have called when they were last seen.
ALTER TABLE phone_users ADD COLUMN last_call_at BIGINT;
UPDATE phone_users SET last_call_at = last_access_at;

-- Carrier billing waits for the payer's consent call: that call finds its
-- pending orders by the paying user.
CREATE INDEX purchases_payer ON purchases(user_number, payment_status);
