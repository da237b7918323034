-- A whole event cancelled from the back office (issue 20, step 5): who started
-- it and when, how many orders it had to cancel then, and whether the
-- background runner has cancelled them all ('running' until it has, 'done').
-- One row per event: a second confirmation finds it and does nothing more.
CREATE TABLE event_cancellations (
    event_id    TEXT PRIMARY KEY REFERENCES events(id),
    actor       TEXT NOT NULL,
    started_at  INTEGER NOT NULL,
    total       INTEGER NOT NULL,
    state       TEXT NOT NULL,
    finished_at INTEGER
);
