import type { DataSource } from "typeorm";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";
import { formatReport } from "./checker";
import { occFlavor, plainFlavor, stressEntities, type Flavor } from "./entities";
import { runScenario } from "./scenario";

/**
 * The short stress run: the same concurrent workload on typeorm-occ and on TypeORM's own
 * @VersionColumn, both judged by the history checker. `npm run stress` is the long version.
 */
describe.each(enabledDrivers().filter((driver) => driver !== "mariadb"))("stress with a history checker on %s", (driver) => {
  let db: TestDatabase;
  let workerSources: DataSource[];
  const workers = driver === "postgres" ? 8 : 4;
  const opsPerWorker = driver === "postgres" ? 150 : 120;

  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: stressEntities, poolSize: 12 });
    // better-sqlite3 is synchronous: a busy timeout would block the event loop every other
    // in-process worker needs, so in-process SQLite workers get SQLITE_BUSY at once and retry.
    workerSources =
      driver === "postgres" ? [db.dataSource] : await Promise.all(Array.from({ length: workers }, () => db.open({ timeout: 0 } as object)));
  });
  afterAll(async () => db?.close());

  // A fixed amount of work: on a loaded 2-core machine the PostgreSQL run (whose deadlocks each wait
  // deadlock_timeout, 1 s) can take longer than Jest's default 60 s; nothing asserted depends on time.
  const timeout = 180_000;
  const run = (flavor: Flavor) =>
    runScenario({ flavor, admin: db.dataSource, workerSources, workers, opsPerWorker, counters: 8, orders: 4, seed: 7 });

  it(
    "finds no anomaly in typeorm-occ's history",
    async () => {
      const { report } = await run(occFlavor);
      console.log(formatReport(`[${driver}] typeorm-occ`, report));
      expect(report.anomalies.slice(0, 5)).toEqual([]);
      expect(report.errors).toBe(0);
      expect(report.acknowledged).toBeGreaterThan(workers * opsPerWorker * 0.9);
      expect(report.stale).toBeGreaterThan(0); // the workers really did collide
    },
    timeout,
  );

  it(
    "finds lost updates in the same workload on TypeORM's own @VersionColumn (the checker can see them)",
    async () => {
      const { report } = await run(plainFlavor);
      console.log(formatReport(`[${driver}] plain typeorm`, report));
      expect(report.anomalies.length).toBeGreaterThan(0);
      const lostUpdates = ["stale-read", "lost-increment", "final-state-mismatch"] as const;
      expect(lostUpdates.reduce((sum, kind) => sum + (report.anomaliesByKind[kind] ?? 0), 0)).toBeGreaterThan(0);
      expect(report.anomaliesByKind["version-not-incremented"] ?? 0).toBeGreaterThan(0);
    },
    timeout,
  );

  // A few multi-step transactions (workloads/multi-step.ts); `npm run stress` runs many more.
  const multiStep = (flavor: Flavor) =>
    runScenario({
      flavor,
      admin: db.dataSource,
      workerSources,
      workers,
      opsPerWorker: 12,
      counters: 8,
      orders: 4,
      seed: 11,
      worker: { multiStepShare: 1 },
    });

  it(
    "finds no anomaly in multi-step transactions on typeorm-occ, and finds them on TypeORM's own column",
    async () => {
      const occ = (await multiStep(occFlavor)).report;
      const plain = (await multiStep(plainFlavor)).report;
      console.log(formatReport(`[${driver}] typeorm-occ multi-step`, occ));
      console.log(formatReport(`[${driver}] plain typeorm multi-step`, plain));
      expect(occ.anomalies.slice(0, 5)).toEqual([]);
      expect(occ.errors).toBe(0);
      expect(occ.steps.stale).toBeGreaterThan(0); // copies older than the transaction's own writes were refused
      expect(plain.anomalies.length).toBeGreaterThan(0);
    },
    timeout,
  );
});
