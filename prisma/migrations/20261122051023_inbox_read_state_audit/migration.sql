-- CreateTable
CREATE TABLE "message_reads" (
    "user_id" INTEGER NOT NULL,
    "chatroom_id" INTEGER NOT NULL,
    "seq" INTEGER NOT NULL,
    "read_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "message_reads_pkey" PRIMARY KEY ("user_id","chatroom_id","seq")
);

-- CreateTable
CREATE TABLE "message_hidden" (
    "user_id" INTEGER NOT NULL,
    "chatroom_id" INTEGER NOT NULL,
    "seq" INTEGER NOT NULL,
    "hidden_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "message_hidden_pkey" PRIMARY KEY ("user_id","chatroom_id","seq")
);

-- CreateTable
CREATE TABLE "admin_audit" (
    "id" BIGSERIAL NOT NULL,
    "admin_id" INTEGER NOT NULL,
    "action" VARCHAR(64) NOT NULL,
    "target_ids" TEXT[],
    "details" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "admin_audit_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "message_reads_chatroom_id_seq_idx" ON "message_reads"("chatroom_id", "seq");

-- CreateIndex
CREATE INDEX "admin_audit_admin_id_created_at_idx" ON "admin_audit"("admin_id", "created_at");

-- CreateIndex
CREATE INDEX "admin_audit_created_at_idx" ON "admin_audit"("created_at");

-- CreateIndex
CREATE INDEX "messages_chatroom_id_sender_id_seq_idx" ON "messages"("chatroom_id", "sender_id", "seq");

-- Unread counting skips retracted/moderated messages after a read position: a partial index
-- holds only tombstones, so it stays tiny.
CREATE INDEX "messages_deleted_by_room_seq_idx" ON "messages" ("chatroom_id", "seq") WHERE "deleted_at" IS NOT NULL;

-- Admin full-text search (GET /admin/messages?q=): the 'simple' configuration (no stemming,
-- no stop words) because chat is multilingual; queries must use the same expression.
CREATE INDEX "messages_content_fts_idx" ON "messages" USING GIN (to_tsvector('simple', "content"));
