-- Exit and re-entry (catalog `reentry = true`): at such an event staff may scan a
-- seat out (check-out) and in again. Single entry stays the default.
ALTER TABLE events ADD COLUMN reentry BIGINT NOT NULL DEFAULT 0;
-- When an admitted seat was last checked out: NULL while it is inside (or was
-- never admitted). `admitted_at`, `admitted_gate`, `admitted_by` stay the first
-- admission; each scan in and out is in the journal with staff, gate and direction.
ALTER TABLE seats ADD COLUMN checked_out_at BIGINT;
