/**
 * The full stress run (`npm run stress`): compiled with tsc, run with node.
 *
 *   PostgreSQL READ COMMITTED and REPEATABLE READ: 16 concurrent clients on a pool of 16.
 *   SQLite: several worker processes on one WAL file.
 *   MariaDB (when MARIADB_URL is set): 8 concurrent clients on a pool of 8.
 * Two workloads on each, in a database of their own: single read-modify-write operations, and
 * multi-step transactions (save(), updateVersioned, updateIf, insertOnce on the same rows and
 * aggregates, with copies read before the transaction's own writes; see workloads/multi-step.ts)
 * mixed with a few single operations. Each typeorm-occ run must show zero anomalies; a smaller
 * control run on TypeORM's own @VersionColumn must show some (proof the checker sees lost updates).
 *
 * Environment: DATABASE_URL (else an embedded PostgreSQL is started), MARIADB_URL, STRESS_SCALE
 * (default 1; 0.1 for a quick try), OCC_DRIVERS=postgres,sqlite,mariadb to narrow the databases,
 * STRESS_WORKLOADS=single,multi-step to narrow the workloads.
 */
import "reflect-metadata";
import { writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join, sep } from "node:path";
import type { DataSource } from "typeorm";
import { createTestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";
import { checkHistory, formatReport, type CheckReport } from "./checker";
import { occFlavor, plainFlavor, stressEntities, type Flavor } from "./entities";
import { History, type OpRecord } from "./history";
import { exited, forkWorker, readHistoryFile } from "./processes";
import { runScenario } from "./scenario";
import { readFinalStates, seedFixtures } from "./workloads/fixtures";
import { replay } from "./workloads/model";
import type { WorkerOptions } from "./workloads/worker";

const scale = Number(process.env.STRESS_SCALE ?? 1);
const PG_CLIENTS = 16;
const SQLITE_PROCESSES = 6;
const MARIADB_CLIENTS = 8;

interface Workload {
  name: "single" | "multi-step";
  /** Operations per client (scaled by STRESS_SCALE); a multi-step transaction does several writes. */
  ops: { postgres: number; sqlite: number; mariadb: number };
  worker: Pick<WorkerOptions, "multiStepShare">;
}
const WORKLOADS: Workload[] = [
  { name: "single", ops: { postgres: 2600, sqlite: 4200, mariadb: 300 }, worker: {} },
  { name: "multi-step", ops: { postgres: 100, sqlite: 50, mariadb: 100 }, worker: { multiStepShare: 0.75 } },
].filter((workload) => !process.env.STRESS_WORKLOADS || process.env.STRESS_WORKLOADS.split(",").includes(workload.name)) as Workload[];
const opsOf = (workload: Workload, driver: keyof Workload["ops"]) => Math.max(1, Math.round(workload.ops[driver] * scale));
/** The plain control runs a tenth as many operations (at least 50, at most as many as typeorm-occ). */
const controlOps = (ops: number) => Math.min(ops, Math.max(50, Math.round(ops / 10)));

interface Line {
  label: string;
  flavor: Flavor["name"];
  report: CheckReport;
  seconds: number;
}
const lines: Line[] = [];

/** Keeps the full history of the entities an anomaly names, for diagnosis. */
function dumpAnomalies(label: string, report: CheckReport, records: readonly OpRecord[]): void {
  if (report.anomalies.length === 0) return;
  const entities = new Set(report.anomalies.map((anomaly) => anomaly.entity));
  const file = join(tmpdir(), `typeorm-occ-stress-anomalies-${label.replace(/[^a-z0-9]+/gi, "-")}.json`);
  writeFileSync(file, JSON.stringify({ anomalies: report.anomalies, records: records.filter((r) => entities.has(r.entity)) }, null, 1));
  console.log(`  anomalous histories written to ${file}`);
}

function note(label: string, flavor: Flavor["name"], report: CheckReport, ms: number): void {
  const line = { label, flavor, report, seconds: ms / 1000 };
  lines.push(line);
  console.log(
    formatReport(`${label} [${flavor}]`, report, ` ${line.seconds.toFixed(1)}s ${Math.round(report.acknowledged / line.seconds)} ack/s`),
  );
  if (flavor === "typeorm-occ") for (const anomaly of report.anomalies.slice(0, 20)) console.log(`  ANOMALY ${JSON.stringify(anomaly)}`);
}

async function postgres(isolation: "READ COMMITTED" | "REPEATABLE READ", workload: Workload): Promise<void> {
  const db = await createTestDatabase("postgres", { entities: stressEntities, poolSize: PG_CLIENTS });
  try {
    const pool: DataSource = await db.open({ poolSize: PG_CLIENTS, isolationLevel: isolation } as object);
    const label = `PostgreSQL ${isolation}, ${PG_CLIENTS} clients, pool ${PG_CLIENTS}, ${workload.name}`;
    await pooled(
      db.dataSource,
      pool,
      label,
      `pg-${isolation}-${workload.name}`,
      PG_CLIENTS,
      opsOf(workload, "postgres"),
      isolation.length,
      {
        ...workload.worker,
        isolationLevel: isolation,
      },
    );
  } finally {
    await db.close();
  }
}

async function mariadb(workload: Workload): Promise<void> {
  const db = await createTestDatabase("mariadb", { entities: stressEntities, poolSize: MARIADB_CLIENTS });
  try {
    const label = `MariaDB REPEATABLE READ, ${MARIADB_CLIENTS} clients, pool ${MARIADB_CLIENTS}, ${workload.name}`;
    await pooled(
      db.dataSource,
      db.dataSource,
      label,
      `mariadb-${workload.name}`,
      MARIADB_CLIENTS,
      opsOf(workload, "mariadb"),
      3,
      workload.worker,
    );
  } finally {
    await db.close();
  }
}

/** Concurrent clients on one pool: typeorm-occ, then the plain control with a tenth of the operations. */
async function pooled(
  admin: DataSource,
  pool: DataSource,
  label: string,
  dumpLabel: string,
  clients: number,
  ops: number,
  seed: number,
  worker: Partial<WorkerOptions>,
): Promise<void> {
  for (const [flavor, opsPerWorker] of [
    [occFlavor, ops],
    [plainFlavor, controlOps(ops)],
  ] as const) {
    const result = await runScenario({
      flavor,
      admin,
      workerSources: [pool],
      workers: clients,
      opsPerWorker,
      counters: 64,
      orders: 16,
      seed,
      worker: { mode: "mixed", ...worker },
    });
    note(label, flavor.name, result.report, result.durationMs);
    if (flavor === occFlavor) dumpAnomalies(dumpLabel, result.report, result.history.records);
  }
}

async function sqlite(workload: Workload): Promise<void> {
  const db = await createTestDatabase("sqlite", { entities: stressEntities });
  const database = (db.dataSource.options as { database: string }).database;
  try {
    const ops = opsOf(workload, "sqlite");
    for (const [flavor, opsPerProcess] of [
      [occFlavor, ops],
      [plainFlavor, controlOps(ops)],
    ] as const) {
      const history = new History();
      const fixtures = await seedFixtures(db.dataSource, flavor, { counters: 64, orders: 16 }, history);
      const started = Date.now();
      const children = Array.from({ length: SQLITE_PROCESSES }, (_, n) => {
        const historyFile = join(database, "..", `history-${flavor === occFlavor ? "occ" : "plain"}-${n}.jsonl`);
        const child = forkWorker({
          database,
          flavor: flavor === occFlavor ? "occ" : "plain",
          fixtures,
          historyFile,
          worker: { worker: `p${n}`, ops: opsPerProcess, seed: 100 + n, mode: "mixed", retries: 50, ...workload.worker },
        });
        return { child, historyFile };
      });
      const codes = await Promise.all(children.map(({ child }) => exited(child)));
      const durationMs = Date.now() - started;
      if (codes.some(({ code }) => code !== 0)) throw new Error(`a SQLite worker process failed: ${JSON.stringify(codes)}`);
      for (const { historyFile } of children) history.merge(readHistoryFile(historyFile));
      const report = checkHistory(history.records, await readFinalStates(db.dataSource, flavor), replay);
      note(`SQLite WAL, ${SQLITE_PROCESSES} processes, ${workload.name}`, flavor.name, report, durationMs);
      if (flavor === occFlavor) dumpAnomalies(`sqlite-${workload.name}`, report, history.records);
    }
  } finally {
    await db.close();
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const drivers = enabledDrivers({ mariadb: true });
  let server: { url: string; stop(): Promise<void> } | undefined;
  if (drivers.includes("postgres") && !process.env.DATABASE_URL) {
    const importModule = new Function("s", "return import(s)") as (
      s: string,
    ) => Promise<{ startEmbeddedPostgres(): Promise<{ url: string; stop(): Promise<void> }> }>;
    const { startEmbeddedPostgres } = await importModule(
      join(__dirname, "..", "support", "embedded-postgres.mjs").replace(`${sep}dist${sep}test${sep}`, `${sep}test${sep}`),
    );
    server = await startEmbeddedPostgres();
    process.env.DATABASE_URL = server.url;
    console.log("embedded PostgreSQL started");
  }
  try {
    for (const workload of WORKLOADS) {
      if (drivers.includes("postgres")) {
        await postgres("READ COMMITTED", workload);
        await postgres("REPEATABLE READ", workload);
      }
      if (drivers.includes("sqlite")) await sqlite(workload);
      if (drivers.includes("mariadb")) await mariadb(workload);
    }
  } finally {
    await server?.stop();
  }

  const seconds = (Date.now() - started) / 1000;
  const occ = lines.filter((line) => line.flavor === "typeorm-occ");
  const plain = lines.filter((line) => line.flavor !== "typeorm-occ");
  const sum = (list: Line[], pick: (r: CheckReport) => number) => list.reduce((total, line) => total + pick(line.report), 0);
  console.log("\n=== summary ===");
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`);
  for (const line of lines) {
    console.log(
      `| ${line.label} | ${line.flavor} | ${line.report.ops} | ${line.report.acknowledged} | ${line.report.stale} | ${line.report.errors} | ${line.report.anomalies.length} | ${line.seconds.toFixed(1)} s |`,
    );
  }
  console.log(
    `typeorm-occ total: ops=${sum(occ, (r) => r.ops)} acknowledged=${sum(occ, (r) => r.acknowledged)} anomalies=${sum(occ, (r) => r.anomalies.length)}; ` +
      `plain control anomalies=${sum(plain, (r) => r.anomalies.length)}; duration ${seconds.toFixed(0)} s`,
  );
  const failed =
    occ.some((line) => line.report.anomalies.length > 0 || line.report.errors > 0) ||
    plain.some((line) => line.report.anomalies.length === 0);
  if (failed) {
    console.log("FAILED: typeorm-occ showed anomalies/errors, or the plain control showed none");
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
