import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { enabledDrivers } from "../support/drivers";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { checkHistory } from "../stress/checker";
import { occFlavor, OccStressCounter, stressEntities } from "../stress/entities";
import { History, operationsEnded } from "../stress/history";
import { exited, forkWorker, readHistoryFile } from "../stress/processes";
import { readFinalStates, seedFixtures } from "../stress/workloads/fixtures";
import { replay } from "../stress/workloads/model";
import type { Fixtures } from "../stress/workloads/worker";

const describeOnSqlite = enabledDrivers().includes("sqlite") ? describe : describe.skip;

describeOnSqlite("SQLite worker process killed with SIGKILL inside a write transaction", () => {
  let db: TestDatabase;
  let database: string;
  beforeAll(async () => {
    db = await createTestDatabase("sqlite", { entities: stressEntities });
    database = (db.dataSource.options as { database: string }).database;
  });
  afterAll(async () => db?.close());

  // A failed run must not leave workers writing into the folder afterAll deletes.
  const children: ChildProcess[] = [];
  const fork = (config: Parameters<typeof forkWorker>[0]) => {
    const child = forkWorker(config);
    children.push(child);
    return child;
  };
  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited(child);
    }
  });

  const file = (name: string) => join(database, "..", name);

  it("leaves a consistent file, and the history of acknowledged operations has no anomaly", async () => {
    const history = new History();
    const fixtures: Fixtures = await seedFixtures(db.dataSource, occFlavor, { counters: 4, orders: 2 }, history);
    const workerConfig = (n: number, ops: number) => ({
      database,
      flavor: "occ" as const,
      fixtures,
      historyFile: file(`history-${n}.jsonl`),
      worker: { worker: `p${n}`, ops, seed: 40 + n, mode: "mixed" as const, retries: 50 },
    });

    // p0 runs 15 operations, then holds a write transaction with an uncommitted +1000 on the hot counter.
    const victim = fork({ ...workerConfig(0, 1000), holdAfter: 15 });
    const others = [1, 2].map((n) => fork(workerConfig(n, 60)));
    const holding = await new Promise<{ versionRead: number; value: number }>((resolve, reject) => {
      victim.once("message", (message) => resolve((message as { holding: { versionRead: number; value: number } }).holding));
      victim.once("exit", (code) => reject(new Error(`victim exited early with ${code}`)));
    });
    victim.kill("SIGKILL");
    expect(await exited(victim)).toEqual({ code: null, signal: "SIGKILL" });
    for (const child of others) expect((await exited(child)).code).toBe(0);

    // "Restart": a new process on the same file runs more work, then everything is checked.
    const restarted = fork(workerConfig(3, 30));
    expect((await exited(restarted)).code).toBe(0);

    const integrity = (await db.dataSource.query("PRAGMA integrity_check")) as Array<{ integrity_check: string }>;
    expect(integrity).toEqual([{ integrity_check: "ok" }]);
    const foreignKeys = (await db.dataSource.query("PRAGMA foreign_key_check")) as unknown[];
    expect(foreignKeys).toEqual([]);

    for (const n of [0, 1, 2, 3]) history.merge(readHistoryFile(file(`history-${n}.jsonl`)));
    // The killed transaction is the victim's last, unanswered operation: it may or may not have committed.
    history.record({
      worker: "p0",
      entity: `counter:${fixtures.hotCounter}`,
      op: { type: "increment", by: 1000 },
      versionRead: holding.versionRead,
      versionWritten: null,
      stateRead: holding.value - 1000,
      stateWritten: holding.value,
      outcome: "error",
      final: true,
      reason: "SIGKILL",
    });
    const report = checkHistory(history.records, await readFinalStates(db.dataSource, occFlavor), replay);
    expect(report.anomalies).toEqual([]);
    expect(report.indeterminateApplied).toBe(0); // the uncommitted write was rolled back
    expect(operationsEnded(history.records, ["acknowledged", "refused"], "p0")).toBe(15);
    expect(operationsEnded(history.records, ["acknowledged", "refused"])).toBeGreaterThanOrEqual(15 + 2 * 55 + 25);

    const hot = await db.dataSource.getRepository(OccStressCounter).findOneByOrFail({ id: fixtures.hotCounter });
    expect(hot.value).toBeLessThan(1000);
  });
});
