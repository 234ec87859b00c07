-- GET /inbox/messages walked the whole table's primary key backwards for every caller, joining
-- each row to the caller's memberships: its cost grew with every message in the deployment,
-- not with the caller's rooms. It now reads a page per room of the caller, along this index.
-- A plain CREATE INDEX holds writes to messages while it builds; the persistence worker then
-- waits, and acknowledged messages stay in Redis (and readable) until it is done.
CREATE INDEX "messages_chatroom_id_id_idx" ON "messages"("chatroom_id", "id" DESC);
