-- The venue's IANA time zone (catalog `time_zone`): pages and mails show every
-- time on the venue's clock, labelled (JST). Empty for an event loaded before:
-- its times are shown at the offset they were written with.
ALTER TABLE events ADD COLUMN time_zone TEXT NOT NULL DEFAULT '';
