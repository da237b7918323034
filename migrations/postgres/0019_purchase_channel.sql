-- Where a purchase was made: 'phone-link' (the purchase link mailed after a
-- call, /p/…) or 'web' (the public web shop, /buy). Purchases made before this
-- column existed read as NULL: unknown.
ALTER TABLE purchases ADD COLUMN channel TEXT;
