/**
 * The full stress run (`npm run stress`): compiled with tsc, run with node.
 *
 *   PostgreSQL READ COMMITTED and REPEATABLE READ: 16 concurrent clients on a pool of 16.
 *   SQLite: several worker processes on one WAL file.
 *   Each typeorm-occ run must show zero anomalies; a smaller control run on TypeORM's own
 *   @VersionColumn must show some (proof the checker sees lost updates).
 *
 * Environment: DATABASE_URL (else an embedded PostgreSQL is started), STRESS_SCALE (default 1;
 * 0.1 for a quick try), OCC_DRIVERS=postgres|sqlite to run one database only.
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

const scale = Number(process.env.STRESS_SCALE ?? 1);
const PG_CLIENTS = 16;
const PG_OPS = Math.round(2600 * scale);
const SQLITE_PROCESSES = 6;
const SQLITE_OPS = Math.round(4200 * scale);

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
  console.log(formatReport(`${label} [${flavor}]`, report, ` ${line.seconds.toFixed(1)}s ${Math.round(report.acknowledged / line.seconds)} ack/s`));
  if (flavor === "typeorm-occ") for (const anomaly of report.anomalies.slice(0, 20)) console.log(`  ANOMALY ${JSON.stringify(anomaly)}`);
}

async function postgres(isolation: "READ COMMITTED" | "REPEATABLE READ"): Promise<void> {
  const db = await createTestDatabase("postgres", { entities: stressEntities, poolSize: PG_CLIENTS });
  try {
    const pool: DataSource = await db.open({ poolSize: PG_CLIENTS, isolationLevel: isolation } as object);
    const label = `PostgreSQL ${isolation}, ${PG_CLIENTS} clients, pool ${PG_CLIENTS}`;
    for (const [flavor, ops] of [[occFlavor, PG_OPS], [plainFlavor, Math.max(50, Math.round(PG_OPS / 10))]] as const) {
      const result = await runScenario({
        flavor,
        admin: db.dataSource,
        workerSources: [pool],
        workers: PG_CLIENTS,
        opsPerWorker: ops,
        counters: 64,
        orders: 16,
        seed: isolation.length,
        worker: { mode: "mixed", isolationLevel: isolation },
      });
      note(label, flavor.name, result.report, result.durationMs);
      if (flavor === occFlavor) dumpAnomalies(`pg-${isolation}`, result.report, result.history.records);
    }
  } finally {
    await db.close();
  }
}

async function sqlite(): Promise<void> {
  const db = await createTestDatabase("sqlite", { entities: stressEntities });
  const database = (db.dataSource.options as { database: string }).database;
  try {
    for (const [flavor, opsPerProcess] of [[occFlavor, SQLITE_OPS], [plainFlavor, Math.max(50, Math.round(SQLITE_OPS / 10))]] as const) {
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
          worker: { worker: `p${n}`, ops: opsPerProcess, seed: 100 + n, mode: "mixed", retries: 50 },
        });
        return { child, historyFile };
      });
      const codes = await Promise.all(children.map(({ child }) => exited(child)));
      const durationMs = Date.now() - started;
      if (codes.some(({ code }) => code !== 0)) throw new Error(`a SQLite worker process failed: ${JSON.stringify(codes)}`);
      for (const { historyFile } of children) history.merge(readHistoryFile(historyFile));
      const report = checkHistory(history.records, await readFinalStates(db.dataSource, flavor), replay);
      note(`SQLite WAL, ${SQLITE_PROCESSES} processes`, flavor.name, report, durationMs);
      if (flavor === occFlavor) dumpAnomalies("sqlite", report, history.records);
    }
  } finally {
    await db.close();
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const drivers = enabledDrivers();
  let server: { url: string; stop(): Promise<void> } | undefined;
  if (drivers.includes("postgres") && !process.env.DATABASE_URL) {
    const importModule = new Function("s", "return import(s)") as (s: string) => Promise<{ startEmbeddedPostgres(): Promise<{ url: string; stop(): Promise<void> }> }>;
    const { startEmbeddedPostgres } = await importModule(join(__dirname, "..", "support", "embedded-postgres.mjs").replace(`${sep}dist${sep}test${sep}`, `${sep}test${sep}`));
    server = await startEmbeddedPostgres();
    process.env.DATABASE_URL = server.url;
    console.log("embedded PostgreSQL started");
  }
  try {
    if (drivers.includes("postgres")) {
      await postgres("READ COMMITTED");
      await postgres("REPEATABLE READ");
    }
    if (drivers.includes("sqlite")) await sqlite();
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
  const failed = occ.some((line) => line.report.anomalies.length > 0 || line.report.errors > 0) || plain.some((line) => line.report.anomalies.length === 0);
  if (failed) {
    console.log("FAILED: typeorm-occ showed anomalies/errors, or the plain control showed none");
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
