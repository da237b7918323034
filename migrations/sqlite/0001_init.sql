-- dialticket schema v1 (seed 000 figs. 5-11, adapted). SQLite; migrations/postgres mirrors it.
-- Flags are INTEGER 0/1 in both backends so one query text serves both.
-- Times are stored as INTEGER unix seconds (UTC) unless the column holds an
-- event's local wall-clock time, which is kept as RFC 3339 text with offset.

CREATE TABLE phone_users (
    id              INTEGER PRIMARY KEY,
    phone           TEXT NOT NULL UNIQUE,       -- E.164
    user_number     TEXT NOT NULL UNIQUE,       -- issued randomly on first call
    mail_address    TEXT,                       -- registered address; NULL = carrier template
    handset_model   TEXT,
    language        TEXT NOT NULL DEFAULT 'en',
    registered_at   INTEGER NOT NULL,
    last_access_at  INTEGER NOT NULL,
    access_count    INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE user_profiles (
    user_number     TEXT PRIMARY KEY REFERENCES phone_users(user_number),
    name            TEXT,
    postal_address  TEXT,
    birth_date      TEXT,
    updated_at      INTEGER NOT NULL
);

CREATE TABLE organizers (
    id              TEXT PRIMARY KEY,
    password_hash   TEXT,
    name            TEXT NOT NULL,
    address         TEXT,
    phone           TEXT,
    representative  TEXT,
    contact         TEXT,
    email           TEXT,
    contract_date   TEXT,
    registered_at   INTEGER NOT NULL,
    notes           TEXT
);

CREATE TABLE organizer_billing (
    organizer_id    TEXT PRIMARY KEY REFERENCES organizers(id),
    billed          INTEGER NOT NULL DEFAULT 0,
    paid            INTEGER NOT NULL DEFAULT 0,
    balance         INTEGER NOT NULL DEFAULT 0,
    updated_at      INTEGER NOT NULL
);

CREATE TABLE events (
    id              TEXT PRIMARY KEY,
    organizer_id    TEXT NOT NULL REFERENCES organizers(id),
    genre           TEXT NOT NULL,
    name            TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    region          TEXT NOT NULL DEFAULT '',
    venue           TEXT NOT NULL,
    starts_at       TEXT NOT NULL,              -- RFC 3339, venue local time
    doors_open      TEXT NOT NULL,
    curtain         TEXT NOT NULL,
    sale_start      INTEGER NOT NULL,
    sale_end        INTEGER NOT NULL,
    admission_opens INTEGER NOT NULL,
    admission_closes INTEGER NOT NULL,
    cancellable_days INTEGER NOT NULL DEFAULT 0,
    contact         TEXT NOT NULL DEFAULT '',
    currency        TEXT NOT NULL DEFAULT 'JPY'
);

-- One row per seat: its state is the reservation (seed 000 fig. 7).
CREATE TABLE seats (
    event_id        TEXT NOT NULL REFERENCES events(id),
    seat_code       TEXT NOT NULL,
    seat_type       TEXT NOT NULL,
    position        INTEGER NOT NULL,           -- sale order within the event
    price           INTEGER NOT NULL,
    state           TEXT NOT NULL DEFAULT 'free',   -- free | sold
    purchase_id     TEXT,
    reserved_at     INTEGER,
    cancelled_at    INTEGER,
    PRIMARY KEY (event_id, seat_code)
);
CREATE INDEX seats_free ON seats(event_id, seat_type, state, position);

CREATE TABLE seat_types (
    event_id        TEXT NOT NULL REFERENCES events(id),
    code            TEXT NOT NULL,
    name            TEXT NOT NULL,
    price           INTEGER NOT NULL,
    PRIMARY KEY (event_id, code)
);

CREATE TABLE purchases (
    id                  TEXT PRIMARY KEY,
    user_number         TEXT NOT NULL REFERENCES phone_users(user_number),
    phone               TEXT NOT NULL,          -- the phone that will issue and use the ticket
    event_id            TEXT NOT NULL REFERENCES events(id),
    seat_type           TEXT NOT NULL,
    quantity            INTEGER NOT NULL,
    amount              INTEGER NOT NULL,
    reserved_at         INTEGER NOT NULL,
    cancellable_until   INTEGER NOT NULL,
    payment_method      TEXT NOT NULL,
    payment_status      TEXT NOT NULL,          -- pending | paid | declined
    payment_ref         TEXT,
    issue_guide_state   TEXT NOT NULL,          -- not-sent | sent
    issue_call_count    INTEGER NOT NULL DEFAULT 0,
    issued              INTEGER NOT NULL DEFAULT 0,
    issued_at           INTEGER,
    usage_call_count    INTEGER NOT NULL DEFAULT 0,
    admission_state     TEXT NOT NULL,          -- none | permit-issued | admitted
    permit_issued_at    INTEGER,
    admitted_at         INTEGER,
    hold_until          INTEGER,                -- unpaid: seats held until then
    form_token          TEXT UNIQUE,            -- idempotency key of the order form
    version             INTEGER NOT NULL DEFAULT 0  -- optimistic concurrency: bumped on every update
);
CREATE INDEX purchases_phone ON purchases(phone);
CREATE INDEX purchases_pending ON purchases(payment_status, hold_until);
CREATE INDEX purchases_payment_ref ON purchases(payment_ref);

-- Payment provider callbacks, by the provider's event id: a repeat is answered
-- with the first result and changes nothing.
CREATE TABLE payment_events (
    event_id        TEXT PRIMARY KEY,
    reference       TEXT NOT NULL,
    status          TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    received_at     INTEGER NOT NULL
);

-- One row per INVITE server transaction handed to the ticket logic:
-- the idempotency record that makes a repeated call key a no-op.
CREATE TABLE calls (
    call_key        TEXT PRIMARY KEY,           -- Call-ID + CSeq
    action          TEXT NOT NULL,
    dialed          TEXT NOT NULL,
    caller          TEXT NOT NULL,
    identity_source TEXT NOT NULL,
    trusted         INTEGER NOT NULL,
    source          TEXT NOT NULL,
    outcome         TEXT,                       -- the CallDecision, JSON
    created_at      INTEGER NOT NULL
);

CREATE TABLE mail_outbox (
    id              INTEGER PRIMARY KEY,
    to_addr         TEXT NOT NULL,
    template        TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body_text       TEXT NOT NULL,
    body_html       TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending',  -- pending | sent | local | failed
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
);
CREATE INDEX mail_due ON mail_outbox(state, next_attempt_at);

-- Append-only: every state change, who caused it and when (seed 002's sales journal).
CREATE TABLE journal (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    at              INTEGER NOT NULL,
    entity          TEXT NOT NULL,
    entity_id       TEXT NOT NULL,
    action          TEXT NOT NULL,
    from_state      TEXT,
    to_state        TEXT,
    actor           TEXT NOT NULL,              -- call:<call-id> | web:<path> | system | admin
    detail          TEXT NOT NULL DEFAULT '{}'
);
CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END;
CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END;
