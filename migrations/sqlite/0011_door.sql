-- The door (issue 18): every seat of a purchase is its own ticket, with its own
-- signed code (src/door/code.rs), and is admitted on its own; staff accounts scan.

-- A code names its seat by (event, position), so a position is one seat. Catalog
-- reloads could once give a new seat the position of an existing one; events where
-- that happened are numbered again in the same order (no code names them yet).
UPDATE seats SET position = (
    SELECT r.n FROM (
        SELECT event_id AS e, seat_code AS c,
               ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY position, seat_code) AS n
        FROM seats
        WHERE event_id IN (SELECT event_id FROM seats GROUP BY event_id, position HAVING COUNT(*) > 1)
    ) r
    WHERE r.e = seats.event_id AND r.c = seats.seat_code)
WHERE event_id IN (SELECT event_id FROM seats GROUP BY event_id, position HAVING COUNT(*) > 1);
CREATE UNIQUE INDEX seats_position ON seats(event_id, position);

-- Each seat's ticket: how many times it was issued (the code's epoch: calling the
-- issue number again moves it on, and older codes answer "revoked"), and its
-- admission: when, at which gate, by which staff account (NULL: the staff PIN).
ALTER TABLE seats ADD COLUMN issue_epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE seats ADD COLUMN admitted_at INTEGER;
ALTER TABLE seats ADD COLUMN admitted_gate TEXT;
ALTER TABLE seats ADD COLUMN admitted_by TEXT;
-- A purchase admitted before has all its seats admitted, when it was.
UPDATE seats SET admitted_at = (
    SELECT COALESCE(p.admitted_at, p.permit_issued_at, p.reserved_at) FROM purchases p WHERE p.id = seats.purchase_id)
WHERE purchase_id IN (SELECT id FROM purchases WHERE admission_state = 'admitted');

-- Every code issued: the purchase it was issued for and its short reference (typed
-- by staff). A code of an earlier epoch is found here too, so it answers "revoked"
-- (or "cancelled", if its purchase was refunded) rather than "invalid".
CREATE TABLE ticket_codes (
    event_id        TEXT NOT NULL REFERENCES events(id),
    position        INTEGER NOT NULL,
    epoch           INTEGER NOT NULL,
    purchase_id     TEXT NOT NULL REFERENCES purchases(id),
    reference       TEXT NOT NULL,              -- 10 Crockford base32 characters, no dash
    issued_at       INTEGER NOT NULL,
    PRIMARY KEY (event_id, position, epoch)
);
CREATE UNIQUE INDEX ticket_codes_reference ON ticket_codes(reference, event_id);

-- Venue staff, per event (and gate), made with `dialticket staff add`.
CREATE TABLE staff (
    id              TEXT PRIMARY KEY,
    event_id        TEXT NOT NULL REFERENCES events(id),
    name            TEXT NOT NULL,
    gate            TEXT,
    revoked         INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    revoked_at      INTEGER
);
CREATE INDEX staff_event ON staff(event_id);
-- Their tokens, as SHA-256 (hex) only: a one-time login URL's, a browser
-- session's, a scanning device's (API). A revoked staff account's tokens all stop.
CREATE TABLE staff_tokens (
    token_hash      TEXT PRIMARY KEY,
    staff_id        TEXT NOT NULL REFERENCES staff(id),
    kind            TEXT NOT NULL,              -- login | session | api
    created_at      INTEGER NOT NULL,
    used_at         INTEGER,                    -- login: when it was used (once)
    revoked         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX staff_tokens_staff ON staff_tokens(staff_id);
