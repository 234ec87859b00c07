-- No JIT compilation for this database's statements. They are all short (a page, a batch),
-- but the planner's estimate for the inbox page (a few hundred rooms, a page each) passes
-- jit_above_cost, and compiling it took PostgreSQL 15 about 500 ms for a statement that runs
-- in 7 (bench:reads). Set on the database, so it holds for every session, pooled or not.
DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET jit = off', current_database()); END $$;
