-- Identities that can be taken back: every access token carries the token_version it was
-- issued under and stops working once the version moves on (logout-all, password change,
-- disable). kept_session_id is the one token (jti) a password change leaves working.
ALTER TABLE "users"
    ADD COLUMN "token_version" INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN "disabled_at" TIMESTAMPTZ(3),
    ADD COLUMN "kept_session_id" UUID;
