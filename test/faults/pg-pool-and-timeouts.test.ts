import type { DataSource, QueryRunner } from "typeorm";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";
import { checkHistory } from "../stress/checker";
import { occFlavor, OccStressCounter, stressEntities } from "../stress/entities";
import { History } from "../stress/history";
import { readFinalStates, seedFixtures } from "../stress/workloads/fixtures";
import { replay } from "../stress/workloads/model";
import { runWorker, type Fixtures, type WorkerOptions } from "../stress/workloads/worker";

const describeOnPostgres = enabledDrivers().includes("postgres") ? describe : describe.skip;

/** Every operation ends exactly once (acknowledged, refused, or errored), and the checker is clean. */
function expectAccounted(history: History, operations: number, finalStates: Awaited<ReturnType<typeof readFinalStates>>) {
  const final = history.records.filter((record) => record.final);
  expect(final).toHaveLength(operations);
  const report = checkHistory(history.records, finalStates, replay);
  expect(report.anomalies).toEqual([]);
  return report;
}

describeOnPostgres("PostgreSQL pool exhaustion and statement timeouts: errors surface, nothing is dropped", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase("postgres", { entities: stressEntities });
  });
  afterAll(async () => db?.close());

  async function run(dataSource: DataSource, fixtures: Fixtures, history: History, workers: number, ops: number, options: Partial<WorkerOptions> = {}) {
    await Promise.all(
      Array.from({ length: workers }, (_, n) =>
        runWorker(dataSource, occFlavor, fixtures, { worker: `w${n}`, ops, seed: n + 1, mode: "mixed", ...options }, history),
      ),
    );
  }

  it("a pool with every connection taken: each operation fails with the acquire timeout, none is lost", async () => {
    const pool = await db.open({ poolSize: 2, extra: { connectionTimeoutMillis: 50 } } as object);
    const history = new History();
    const fixtures = await seedFixtures(db.dataSource, occFlavor, { counters: 4, orders: 2 }, history);
    const holders: QueryRunner[] = [pool.createQueryRunner(), pool.createQueryRunner()];
    for (const holder of holders) await holder.connect();

    await run(pool, fixtures, history, 6, 5);
    const starved = history.records.filter((record) => record.final);
    expect(starved).toHaveLength(30);
    expect(starved.every((record) => record.outcome === "error" && /timeout/i.test(record.reason ?? ""))).toBe(true);

    for (const holder of holders) await holder.release();
    await run(pool, fixtures, history, 2, 60); // no more clients than connections: nobody waits
    const report = expectAccounted(history, 30 + 120, await readFinalStates(db.dataSource, occFlavor));
    expect(report.acknowledged).toBe(120);
  });

  it("more clients than connections with a short acquire timeout: every operation is acknowledged, refused or errored", async () => {
    // So short that opening a connection can time out too; initialisation is retried until one opens.
    let pool: DataSource | undefined;
    for (let tries = 0; !pool && tries < 100; tries++) pool = await db.open({ poolSize: 2, extra: { connectionTimeoutMillis: 10 } } as object).catch(() => undefined);
    const history = new History();
    const fixtures = await seedFixtures(db.dataSource, occFlavor, { counters: 4, orders: 2 }, history);
    if (!pool) throw new Error("could not open a connection within 10 ms in 100 tries");
    await run(pool, fixtures, history, 12, 25, { retries: 5 });
    const report = expectAccounted(history, 12 * 25, await readFinalStates(db.dataSource, occFlavor));
    expect(report.acknowledged + report.errors).toBeGreaterThan(0);
  });

  it("statement timeout while a row is locked: the saves fail with 57014, none is applied, and work resumes", async () => {
    const timed = await db.open({ poolSize: 4, extra: { statement_timeout: 100 } } as object);
    const history = new History();
    const fixtures = await seedFixtures(db.dataSource, occFlavor, { counters: 1, orders: 1 }, history);
    const locker = db.dataSource.createQueryRunner();
    await locker.startTransaction();
    await locker.query(`SELECT * FROM "occ_stress_counter" WHERE "id" = $1 FOR UPDATE`, [fixtures.hotCounter]);

    await run(timed, fixtures, history, 3, 2, { hotShare: 1, orderShare: 0 });
    const blocked = history.records.filter((record) => record.final);
    expect(blocked).toHaveLength(6);
    expect(blocked.every((record) => record.outcome === "error" && record.reason?.includes("57014"))).toBe(true);

    await locker.rollbackTransaction();
    await locker.release();
    await run(timed, fixtures, history, 3, 10, { hotShare: 1, orderShare: 0 });
    const report = expectAccounted(history, 6 + 30, await readFinalStates(db.dataSource, occFlavor));
    expect(report.indeterminateApplied).toBe(0);
    const hot = await db.dataSource.getRepository(OccStressCounter).findOneByOrFail({ id: fixtures.hotCounter });
    expect(hot.value).toBe(report.acknowledged); // exactly the acknowledged increments
  });
});
