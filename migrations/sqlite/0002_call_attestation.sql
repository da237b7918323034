-- Caller identity provenance on the call record (issue 4): the STIR/SHAKEN
-- attestation (A, B, C; NULL when nothing vouched for the number) and how it
-- was established (JSON: none | passport | verstat | failed with its code).
ALTER TABLE calls ADD COLUMN attestation TEXT;
ALTER TABLE calls ADD COLUMN verification TEXT;

-- The journal by entity: its history (journal_for) and the purchase-link cap
-- (how many links one phone user was sent in the last hour).
CREATE INDEX journal_entity ON journal(entity_id, action, at);
