-- Scans a staff device made while offline, uploaded when it is back online
-- (POST /staff/api/offline-scans). The device names each scan with an id of its
-- own: an upload sent twice (a retry after a dropped connection) finds its scans
-- here and journals nothing again.
CREATE TABLE offline_scans (
    id              TEXT PRIMARY KEY,           -- staff id / the device's scan id
    event_id        TEXT NOT NULL REFERENCES events(id),
    staff_id        TEXT NOT NULL REFERENCES staff(id),
    position        BIGINT,                     -- NULL: not a code of this event
    direction       TEXT NOT NULL,              -- in | out
    scanned_at      BIGINT NOT NULL,            -- the device's clock
    uploaded_at     BIGINT NOT NULL,
    result          TEXT NOT NULL               -- what the server made of it
);
CREATE INDEX offline_scans_event ON offline_scans(event_id);
-- A seat admitted twice while devices were offline: the admission kept (first)
-- and the later one, flagged for the organizer and shown on the devices.
CREATE TABLE door_conflicts (
    event_id        TEXT NOT NULL REFERENCES events(id),
    position        BIGINT NOT NULL,
    seat_code       TEXT NOT NULL,
    first_by        TEXT,
    first_at        BIGINT NOT NULL,
    second_by       TEXT,
    second_at       BIGINT NOT NULL,
    flagged_at      BIGINT NOT NULL,
    PRIMARY KEY (event_id, position, second_at)
);
