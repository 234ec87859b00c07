-- A clientMsgId identifies a resend within one room (the dedupe record is a room key, so a
-- Redis Cluster keeps it in the room's slot): the same one in another room is another message.
DROP INDEX "messages_sender_id_client_msg_id_key";
CREATE UNIQUE INDEX "messages_chatroom_id_sender_id_client_msg_id_key" ON "messages"("chatroom_id", "sender_id", "client_msg_id");
