-- /healthz writes here (one row), so it reports whether the database takes
-- writes: a full disk fails every write while reads still answer.
CREATE TABLE health (
    id          INTEGER PRIMARY KEY,
    checked_at  BIGINT NOT NULL
);
INSERT INTO health (id, checked_at) VALUES (1, 0);

-- A purchase's seats are read by purchase on every ticket and admission page;
-- without this, each such read scanned the seats of every event (a ticket page
-- fell from 785 to 207 requests/s once an unrelated 200,000-seat event was loaded).
CREATE INDEX seats_purchase ON seats(purchase_id);
