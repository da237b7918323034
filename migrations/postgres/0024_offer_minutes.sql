-- How long seats offered to a waiting-list place are held for it, per event
-- (the organizer's choice: the back office's event form, or the catalog's
-- `offer_minutes`). 30 minutes unless set; 5 minutes to a day.
ALTER TABLE events ADD COLUMN offer_minutes BIGINT NOT NULL DEFAULT 30
    CHECK (offer_minutes BETWEEN 5 AND 1440);
