-- Billing (issue 20, step 7): the payouts dialticket made to an organizer, as an
-- operator recorded them in the back office. Never deleted: a payout recorded
-- by mistake is voided (voided_at, voided_by) and counts no more. The statements
-- (src/billing.rs) read these with the paid and refunded purchases; the amount is
-- in the currency's minor units, `paid_on` the day on the organizer's clock.
CREATE TABLE payouts (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organizer_id TEXT NOT NULL REFERENCES organizers(id),
    amount       BIGINT NOT NULL CHECK (amount > 0),
    paid_on      TEXT NOT NULL,              -- YYYY-MM-DD
    reference    TEXT NOT NULL,
    note         TEXT NOT NULL DEFAULT '',
    recorded_by  TEXT NOT NULL,
    recorded_at  BIGINT NOT NULL,
    voided_by    TEXT,
    voided_at    BIGINT
);
CREATE INDEX payouts_organizer ON payouts(organizer_id, paid_on);
