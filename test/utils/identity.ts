import { useKeyNamespace } from '../../src/common/constants';
import { DatabaseIdentity } from '../../src/redis/database-identity';
import { sql } from './app';

/**
 * Redis names carry the database identity (src/common/constants.ts). A test that looks at
 * Redis without booting the app in its own process (spawned servers) reads it this way.
 */
export async function useTestKeyNamespace(): Promise<DatabaseIdentity> {
  const [row] = await sql<{ id: string }>('SELECT id::text AS id FROM database_identity');
  const identity = new DatabaseIdentity(row.id);
  useKeyNamespace(identity.tag);
  return identity;
}
