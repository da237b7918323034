-- Admitting with the event's staff PIN on the holder's own phone is an
-- organizer's opt-in fallback (catalog: `staff_pin_admission = true`), never the
-- default: staff check tickets in with the staff app (/staff), where nobody
-- watching learns a shared PIN.
ALTER TABLE events ADD COLUMN pin_admission BIGINT NOT NULL DEFAULT 0;
