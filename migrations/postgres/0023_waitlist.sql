-- The waiting list of a sold-out seat type (issue 22, item 4): buyers join in
-- line (`seq` is the place: join order), and a seat that comes back
-- (cancellation, expired hold, declined payment) is held for the first in line
-- (`seats.state = 'offered'`, `seats.offer_id`) and offered by mail until
-- `offer_until`; then to the next. One open place per phone and event.
CREATE TABLE waitlist (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    event_id     TEXT NOT NULL REFERENCES events(id),
    seat_type    TEXT NOT NULL,              -- '' = any type (joined on the phone)
    phone        TEXT NOT NULL,
    user_number  TEXT NOT NULL REFERENCES phone_users(user_number),
    quantity     BIGINT NOT NULL,
    channel      TEXT NOT NULL,              -- page | call
    state        TEXT NOT NULL DEFAULT 'waiting',  -- waiting | offered | taken | expired | left
    joined_at    BIGINT NOT NULL,
    offered_at   BIGINT,
    offer_until  BIGINT,
    offer_mailed BIGINT NOT NULL DEFAULT 0,
    purchase_id  TEXT,
    closed_at    BIGINT
);
CREATE INDEX waitlist_line ON waitlist(event_id, state, seq);
CREATE INDEX waitlist_offers ON waitlist(state, offer_until);
CREATE UNIQUE INDEX waitlist_one_place ON waitlist(event_id, phone) WHERE state IN ('waiting', 'offered');

-- A seat held for a waiting-list place (state 'offered'): nobody else can take it.
ALTER TABLE seats ADD COLUMN offer_id TEXT;
CREATE INDEX seats_offer ON seats(offer_id) WHERE offer_id IS NOT NULL;

-- Sold in call order (catalog `call_order = true`): a purchase call from a
-- proven number to the event's own number takes a place in line at once, so
-- seats are held in the order people called, not in the order they clicked.
ALTER TABLE events ADD COLUMN call_order BIGINT NOT NULL DEFAULT 0;
