import "reflect-metadata";
import { randomBytes } from "node:crypto";
import { Client } from "pg";
import { DataSource, type DataSourceOptions, type EntitySchema, type MixedList } from "typeorm";
import { enabledDrivers } from "./drivers";
import { setReplicaLag, waitForReplica } from "./replica-control";

/** The cluster test/support/global-setup.ts started: a primary, its streaming replica, PgBouncer. */
export interface ReplicaCluster {
  primaryPort: number;
  replicaPort: number;
  pgbouncer: { transaction: number; session: number } | null;
}

function cluster(): ReplicaCluster | null {
  const json = process.env.OCC_REPLICA_CLUSTER;
  return json ? (JSON.parse(json) as ReplicaCluster) : null;
}

/** Why the replica tests cannot run here, or undefined when they can. */
export function replicasUnavailable(): string | undefined {
  if (!enabledDrivers().includes("postgres")) return "PostgreSQL is not among OCC_DRIVERS";
  if (!cluster()) return process.env.OCC_REPLICAS_SKIPPED ?? "no replica cluster was started";
  return undefined;
}

/** Why the PgBouncer tests cannot run here, or undefined when they can. */
export function pgbouncerUnavailable(): string | undefined {
  return replicasUnavailable() ?? (cluster()?.pgbouncer ? undefined : (process.env.OCC_PGBOUNCER_SKIPPED ?? "PgBouncer is not running"));
}

/** `describe`, or `describe.skip` with the reason printed, when `unavailable()` names one. */
function describeIf(unavailable: () => string | undefined, what: string) {
  return (name: string, fn: () => void) => {
    const reason = unavailable();
    if (!reason) return describe(name, fn);
    // Straight to stderr: Jest drops the console output of a file whose tests are all skipped.
    process.stderr.write(`[typeorm-occ] skipped "${name}" (${what}): ${reason}\n`);
    return describe.skip(name, fn);
  };
}

export const describeWithReplicas = describeIf(replicasUnavailable, "needs a PostgreSQL primary and replica");
export const describeWithPgBouncer = describeIf(pgbouncerUnavailable, "needs PgBouncer");

export type PoolMode = "transaction" | "session";

export interface ReplicatedDatabase {
  name: string;
  /** `replication: { master: primary, slaves: [replica] }`, schema synchronized and replicated. */
  dataSource: DataSource;
  primaryUrl: string;
  replicaUrl: string;
  /** Another DataSource on the database: replicated unless `extra` says otherwise. */
  open(extra?: Partial<DataSourceOptions>): Promise<DataSource>;
  /** A DataSource that reaches the primary through PgBouncer in the given pool mode. */
  openThroughPgBouncer(mode: PoolMode, extra?: Partial<DataSourceOptions>): Promise<DataSource>;
  /** Resolves once the replica shows every commit made before the call (polled, not slept). */
  waitForReplica(): Promise<void>;
  /** Sets the replica's apply delay (recovery_min_apply_delay), shared by every test file. */
  setLag(ms: number): Promise<void>;
  close(): Promise<void>;
}

/** A fresh database on the cluster's primary, visible on its replica when this resolves. */
export async function createReplicatedDatabase(
  entities: MixedList<Function | string | EntitySchema>,
  options: { poolSize?: number } = {},
): Promise<ReplicatedDatabase> {
  const found = cluster();
  if (!found) throw new Error(`no replica cluster: ${replicasUnavailable()}`);
  const name = `occ_${randomBytes(6).toString("hex")}`;
  const urlOf = (port: number, database = name) => `postgres://postgres@127.0.0.1:${port}/${database}`;
  const admin = new Client({ connectionString: urlOf(found.primaryPort, "postgres") });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();

  const opened: DataSource[] = [];
  const poolSize = options.poolSize ?? 10;
  const primaryUrl = urlOf(found.primaryPort);
  const replicaUrl = urlOf(found.replicaPort);
  const open = async (extra: Partial<DataSourceOptions> = {}) => {
    const dataSource = new DataSource({
      type: "postgres",
      replication: { master: { url: primaryUrl }, slaves: [{ url: replicaUrl }] },
      poolSize,
      entities,
      ...extra,
    } as DataSourceOptions);
    await dataSource.initialize();
    opened.push(dataSource);
    return dataSource;
  };
  const replicated = {
    waitForReplica: () => waitForReplica(found.primaryPort, found.replicaPort),
  };
  await replicated.waitForReplica();
  const dataSource = await open({ synchronize: true } as Partial<DataSourceOptions>);
  await replicated.waitForReplica();

  return {
    name,
    dataSource,
    primaryUrl,
    replicaUrl,
    open,
    async openThroughPgBouncer(mode, extra = {}) {
      if (!found.pgbouncer) throw new Error(`no PgBouncer: ${pgbouncerUnavailable()}`);
      return open({ replication: undefined, url: urlOf(found.pgbouncer[mode]), ...extra } as Partial<DataSourceOptions>);
    },
    waitForReplica: replicated.waitForReplica,
    setLag: (ms) => setReplicaLag(found.replicaPort, ms),
    async close() {
      for (const source of opened) if (source.isInitialized) await source.destroy();
      const client = new Client({ connectionString: urlOf(found.primaryPort, "postgres") });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}
