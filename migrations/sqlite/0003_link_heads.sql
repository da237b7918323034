-- Re-issue revokes older links: a purchase's current ticket link and admission
-- link (the token id, `jti`, of the one mailed last). A ticket or admission link
-- whose token id is not the one here was replaced by a re-issue and is refused
-- (410). A purchase with no row here accepts any valid link of that kind (links
-- mailed before this table existed).
CREATE TABLE link_heads (
    purchase_id     TEXT NOT NULL REFERENCES purchases(id),
    purpose         TEXT NOT NULL,              -- ticket | admission
    jti             TEXT NOT NULL,
    issued_at       INTEGER NOT NULL,
    PRIMARY KEY (purchase_id, purpose)
) WITHOUT ROWID;
