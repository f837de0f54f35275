import type { DataSource, QueryRunner } from "typeorm";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";
import { checkHistory } from "../stress/checker";
import { occFlavor, OccStressCounter, stressEntities } from "../stress/entities";
import { History, operationsEnded } from "../stress/history";
import { readFinalStates, seedFixtures } from "../stress/workloads/fixtures";
import { replay } from "../stress/workloads/model";
import { runWorker, type Fixtures, type WorkerOptions } from "../stress/workloads/worker";

const describeOnPostgres = enabledDrivers().includes("postgres") ? describe : describe.skip;

/** Every operation ends exactly once (acknowledged, refused, or errored), and the checker is clean. */
function expectAccounted(history: History, operations: number, finalStates: Awaited<ReturnType<typeof readFinalStates>>) {
  expect(
    operationsEnded(
      history.records.filter((record) => record.worker !== "setup"),
      ["acknowledged", "stale", "refused", "error"],
    ),
  ).toBe(operations);
  const report = checkHistory(history.records, finalStates, replay);
  expect(report.anomalies).toEqual([]);
  return report;
}

/**
 * pg-pool reads `options.connectionTimeoutMillis` on every acquire (and every new connection). Fails
 * loudly if pg-pool no longer has that shape, rather than letting the test run with the long timeout.
 */
function setAcquireTimeout(source: DataSource, milliseconds: number): void {
  const pool = (source.driver as unknown as { master?: { options?: { connectionTimeoutMillis?: unknown } } }).master;
  if (typeof pool?.options?.connectionTimeoutMillis !== "number")
    throw new Error("pg-pool no longer keeps options.connectionTimeoutMillis");
  pool.options.connectionTimeoutMillis = milliseconds;
}

describeOnPostgres("PostgreSQL pool exhaustion and statement timeouts: errors surface, nothing is dropped", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase("postgres", { entities: stressEntities });
  });
  afterAll(async () => db?.close());

  async function run(
    dataSource: DataSource,
    fixtures: Fixtures,
    history: History,
    workers: number,
    ops: number,
    options: Partial<WorkerOptions> = {},
  ) {
    await Promise.all(
      Array.from({ length: workers }, (_, n) =>
        runWorker(dataSource, occFlavor, fixtures, { worker: `w${n}`, ops, seed: n + 1, mode: "mixed", ...options }, history),
      ),
    );
  }

  it("a pool with every connection taken: each operation fails with the acquire timeout, none is lost", async () => {
    // Both connections are opened (and kept) before the acquire timeout is shortened: opening one can
    // take longer than 50 ms on a busy machine, and the second phase must find them open.
    const pool = await db.open({ poolSize: 2, extra: { connectionTimeoutMillis: 10_000, idleTimeoutMillis: 0 } } as object);
    const history = new History();
    const fixtures = await seedFixtures(db.dataSource, occFlavor, { counters: 4, orders: 2 }, history);
    const holders: QueryRunner[] = [pool.createQueryRunner(), pool.createQueryRunner()];
    for (const holder of holders) await holder.connect();
    setAcquireTimeout(pool, 50);

    await run(pool, fixtures, history, 6, 5);
    const starved = history.records.filter((record) => record.final);
    expect(operationsEnded(starved, ["error"])).toBe(30);
    expect(starved.every((record) => record.outcome === "error" && /timeout/i.test(record.reason ?? ""))).toBe(true);

    for (const holder of holders) await holder.release();
    await run(pool, fixtures, history, 2, 60); // no more clients than connections: nobody waits
    expectAccounted(history, 30 + 120, await readFinalStates(db.dataSource, occFlavor));
    expect(operationsEnded(history.records, ["acknowledged", "refused"])).toBe(120); // nobody waited: every later operation went through (or was refused by the library)
  });

  it("more clients than connections with a short acquire timeout: every operation is acknowledged, refused or errored", async () => {
    // 10 ms is shorter than opening a connection takes on a busy machine, so the pool opens both of
    // its connections first (kept: no idle timeout), and only then is the timeout shortened.
    const pool = await db.open({ poolSize: 2, extra: { connectionTimeoutMillis: 10_000, idleTimeoutMillis: 0 } } as object);
    await Promise.all([pool.query("SELECT pg_sleep(0.05)"), pool.query("SELECT pg_sleep(0.05)")]);
    setAcquireTimeout(pool, 10);
    const history = new History();
    const fixtures = await seedFixtures(db.dataSource, occFlavor, { counters: 4, orders: 2 }, history);
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
