-- The back office's accounts (issue 20): an operator sees everything; an
-- organizer account belongs to one organizer of the catalog and sees its events
-- only. Door staff keep their own accounts (0011_door.sql). The login name is
-- unique; the password is an Argon2id PHC string (src/auth.rs), NULL until the
-- account's one-time link has been used to set it.
CREATE TABLE accounts (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    role            TEXT NOT NULL,              -- operator | organizer
    organizer_id    TEXT REFERENCES organizers(id),
    password_hash   TEXT,
    created_at      INTEGER NOT NULL,
    created_by      TEXT NOT NULL,
    password_changed_at INTEGER
);
-- Their tokens, as SHA-256 (hex) only: a one-time setup link's (used once, until
-- it expires) and a browser session's (until it expires or its logout).
CREATE TABLE account_tokens (
    token_hash      TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts(id),
    kind            TEXT NOT NULL,              -- setup | session
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    used_at         INTEGER,                    -- setup: when it was used (once)
    revoked         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX account_tokens_account ON account_tokens(account_id);
