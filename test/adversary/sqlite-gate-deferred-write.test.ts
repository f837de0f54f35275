import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { eachDriver } from "../support/each-driver";
import { Doc, coreEntities } from "../support/entities/core";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Adversary finding (SQLite, one shared DataSource). The write gate is re-entrant through
 * AsyncLocalStorage: work started inside a unit joins it. But the async context also reaches work
 * that is only *scheduled* inside a unit and runs after it ended — a timer, a debounced flush, an
 * un-awaited promise, an event handler. That work still "holds" the gate, so it skips the queue and
 * runs inside whatever transaction another caller has open at that moment; when that caller rolls
 * back, the deferred write, already acknowledged, is erased.
 * Promise (README, "one SQLite DataSource shared by concurrent callers"): no caller's rollback erases
 * another's acknowledged write.
 * Likely cause: src/sqlite-gate/shared-connection-gate.ts, runWriteUnit: `held?.has(gate)` trusts the async
 * context; it must also check that the unit which took the gate in that context still holds it (a
 * token per acquisition, compared with the gate's current holder).
 */
eachDriver((driver) => driver === "sqlite")("a write scheduled inside a transaction that runs after it on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: coreEntities });
  });
  afterAll(async () => db?.close());

  it("is queued like any other write: another caller's rollback does not erase it", async () => {
    const docs = db.dataSource.getRepository(Doc);
    let deferred!: Promise<string>;
    await db.dataSource.transaction(async (manager) => {
      await manager.save(manager.create(Doc, { title: "in the transaction" }));
      // e.g. an audit logger's flush timer, first armed inside a transaction
      deferred = new Promise((resolve) =>
        setTimeout(() => {
          docs.save(docs.create({ title: "deferred" })).then(
            () => resolve("acknowledged"),
            (error: Error) => resolve(error.name),
          );
        }, 50),
      );
    });

    const other = db.dataSource
      .transaction(async (manager) => {
        await manager.save(manager.create(Doc, { title: "other" }));
        await sleep(300); // the deferred write fires while this transaction is open
        throw new Error("other gives up");
      })
      .catch((error: Error) => error.message);

    const outcome = await deferred;
    expect(await other).toBe("other gives up");
    const titles = (await docs.find()).map((doc) => doc.title).sort();
    if (outcome === "acknowledged") expect(titles).toEqual(["deferred", "in the transaction"]);
    else expect(titles).toEqual(["in the transaction"]);
  });
});
