-- The identity of this database: one row with a random id, created with the database. The
-- application puts it into every Redis key, the queue prefix and the socket.io channel, so a
-- database that was dropped and recreated never meets the Redis state of the old one.
CREATE TABLE "database_identity" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "singleton" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "database_identity_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "database_identity_one_row" CHECK ("singleton")
);
CREATE UNIQUE INDEX "database_identity_singleton_key" ON "database_identity"("singleton");
INSERT INTO "database_identity" DEFAULT VALUES;

-- Acknowledged messages PostgreSQL refused as data (e.g. a NUL byte): set aside by the
-- persistence worker so that the rest of their batch is stored. `payload` is the queued
-- message as JSON text, where control characters are \u escapes: NUL-safe, unlike the raw
-- content (and unlike jsonb, which refuses \u0000). No foreign keys: a dead letter must be
-- storable whatever it refers to.
CREATE TABLE "dead_letters" (
    "id" BIGSERIAL NOT NULL,
    "message_id" UUID NOT NULL,
    "chatroom_id" INTEGER NOT NULL,
    "seq" INTEGER NOT NULL,
    "sender_id" INTEGER NOT NULL,
    "payload" TEXT NOT NULL,
    "error_code" VARCHAR(16),
    "error_message" TEXT NOT NULL,
    "tombstoned" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "dead_letters_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "dead_letters_message_id_key" ON "dead_letters"("message_id");
CREATE INDEX "dead_letters_created_at_idx" ON "dead_letters"("created_at");
