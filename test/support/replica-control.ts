import { Client } from "pg";

/** Lag and catch-up of the replica started by ./replica-cluster.mjs; used by the tests and the bench. */

async function query<T>(url: string, sql: string, parameters: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: url });
  client.on("error", () => undefined);
  await client.connect();
  try {
    return (await client.query(sql, parameters)).rows as T[];
  } finally {
    await client.end();
  }
}

const adminUrl = (port: number) => `postgres://postgres@127.0.0.1:${port}/postgres`;

/**
 * Sets the replica's `recovery_min_apply_delay` without a restart (ALTER SYSTEM + pg_reload_conf)
 * and resolves once a new session on the replica reports the new value.
 */
export async function setReplicaLag(replicaPort: number, lagMs: number): Promise<void> {
  if (!Number.isSafeInteger(lagMs) || lagMs < 0) throw new RangeError(`lag must be a whole number of ms, got ${lagMs}`);
  // ALTER SYSTEM cannot run inside a multi-statement string (one implicit transaction): alone.
  await query(adminUrl(replicaPort), `ALTER SYSTEM SET recovery_min_apply_delay = '${lagMs}ms'`);
  await query(adminUrl(replicaPort), "SELECT pg_reload_conf()");
  const wanted = lagMs === 0 ? "0" : lagMs % 1000 === 0 ? `${lagMs / 1000}s` : `${lagMs}ms`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const [{ recovery_min_apply_delay: now }] = await query<{ recovery_min_apply_delay: string }>(
      adminUrl(replicaPort),
      "SHOW recovery_min_apply_delay",
    );
    if (now === wanted) return;
    if (Date.now() > deadline) throw new Error(`the replica reports recovery_min_apply_delay = ${now}, not ${wanted}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Resolves once the replica has replayed everything the primary committed before the call: one
 * marker commit on the primary (WAL is one sequence for the whole cluster), then the replica is
 * polled until it shows it. A condition, not a sleep; `timeoutMs` bounds it.
 */
export async function waitForReplica(primaryPort: number, replicaPort: number, timeoutMs = 30_000): Promise<void> {
  const [{ n }] = await query<{ n: string }>(adminUrl(primaryPort), "UPDATE occ_replication_marker SET n = n + 1 WHERE id = 1 RETURNING n");
  const client = new Client({ connectionString: adminUrl(replicaPort) });
  client.on("error", () => undefined);
  await client.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { rows } = await client.query("SELECT n >= $1::bigint AS seen FROM occ_replication_marker WHERE id = 1", [n]);
      if (rows[0]?.seen) return;
      if (Date.now() > deadline) throw new Error(`the replica did not replay the primary's commits within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    await client.end();
  }
}
