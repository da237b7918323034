-- The gate a seat type's seats enter by (catalog `gate = "B"`): shown on the
-- ticket and admission pages, read aloud by the usage call. NULL: no gate named.
ALTER TABLE seat_types ADD COLUMN gate TEXT;
