-- Every persistence job updates last_seq and last_message_at of each room it stores
-- messages for. With last_message_at indexed, none of those updates could be HOT: each wrote
-- all three indexes of chatrooms and left them dead entries to vacuum. Nothing queries by it.
DROP INDEX "chatrooms_last_message_at_idx";
