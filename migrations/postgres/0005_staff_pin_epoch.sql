-- Staff PINs can be replaced per event (a PIN that leaked): the PIN is derived
-- from the signing key, the event and this number, which a rotation raises.
-- 0 gives the PIN events had before (Links::staff_pin).
ALTER TABLE events ADD COLUMN staff_pin_epoch BIGINT NOT NULL DEFAULT 0;
