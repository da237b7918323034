-- Events in the back office (issue 20, step 3). An organizer stops and resumes
-- sales (paused: the shop takes no orders), publishes and unpublishes (an
-- unpublished event is not listed and its shop page is 404), and sets a limit
-- of tickets per phone per event (0: none). `seat_positions_used`: the highest
-- seat position an event ever had, so a seat added after others were removed
-- never takes a removed seat's position (positions name seats in ticket codes).
ALTER TABLE events ADD COLUMN sales_paused INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN published INTEGER NOT NULL DEFAULT 1;
ALTER TABLE events ADD COLUMN phone_limit INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN seat_positions_used INTEGER NOT NULL DEFAULT 0;
