-- Usernames are unique regardless of case: "Alice" and "alice" were two accounts, one able
-- to pass for the other in every room. The name keeps the case it was registered with; the
-- case-sensitive unique index stays for lookups by exact name. Hand-written: Prisma's schema
-- cannot state an expression index (as messages_content_fts_idx).
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM users GROUP BY lower(username) HAVING count(*) > 1) THEN
    RAISE EXCEPTION 'usernames that differ only in case exist; list them with: SELECT lower(username), array_agg(username) FROM users GROUP BY 1 HAVING count(*) > 1; rename all but one of each (UPDATE users SET username = ... WHERE id = ...), then migrate again';
  END IF;
END $$;

CREATE UNIQUE INDEX "users_username_lower_key" ON "users" (lower("username"));
