import { StaleDataError, isStaleDataError, withOptimisticRetry } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { eachDriver } from "../support/each-driver";
import { Doc, OccCounter, coreEntities } from "../support/entities/core";

/**
 * TypeORM's better-sqlite3 driver hands every caller the same query runner, so overlapping saves
 * used to run inside each other's transaction: a StaleDataError rolling one back also undid another
 * caller's acknowledged write. typeorm-occ now runs write units on such a DataSource one at a time.
 */
eachDriver((driver) => driver === "sqlite")("one SQLite DataSource shared by concurrent callers (%s)", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: coreEntities });
  });
  afterAll(async () => db?.close());

  it("keeps every acknowledged save when a concurrent save is stale", async () => {
    const docs = db.dataSource.getRepository(Doc);
    const rows = await docs.save(Array.from({ length: 20 }, (_, i) => docs.create({ title: `t${i}` })));
    const stale = await docs.findOneByOrFail({ id: rows[0].id });
    await docs.save({ ...(await docs.findOneByOrFail({ id: rows[0].id })), title: "moved on" });

    const outcomes = await Promise.allSettled(
      rows.map((row, i) => {
        if (i === 0) return docs.save(Object.assign(stale, { title: "stale write" }));
        row.title = `edited ${i}`;
        return docs.save(row);
      }),
    );
    expect(outcomes[0]).toMatchObject({ status: "rejected", reason: expect.any(StaleDataError) });
    expect(outcomes.slice(1).every((outcome) => outcome.status === "fulfilled")).toBe(true);
    for (const [i, row] of rows.entries()) {
      if (i > 0) expect(await docs.findOneByOrFail({ id: row.id })).toMatchObject({ title: `edited ${i}`, version: 2 });
    }
  });

  it("loses no increment of concurrent withOptimisticRetry transactions", async () => {
    const counters = db.dataSource.getRepository(OccCounter);
    const { id } = await counters.save({ value: 0 });
    let acknowledged = 0;
    await Promise.all(
      Array.from({ length: 40 }, () =>
        withOptimisticRetry(
          async (manager) => {
            const counter = await manager.findOneByOrFail(OccCounter, { id });
            await new Promise((resolve) => setImmediate(resolve));
            counter.value += 1;
            await manager.save(counter);
          },
          { dataSource: db.dataSource, retries: 50 },
        ).then(() => acknowledged++),
      ),
    );
    expect(acknowledged).toBe(40);
    expect((await counters.findOneByOrFail({ id })).value).toBe(40);
  });

  it("still lets a save made with the global repository inside a transaction join it", async () => {
    const docs = db.dataSource.getRepository(Doc);
    const doc = await docs.save(docs.create({ title: "inside" }));
    const error = await db.dataSource
      .transaction(async () => {
        doc.title = "joined";
        await docs.save(doc); // not the transaction's manager: joins the open transaction as in plain TypeORM
        throw new Error("roll back");
      })
      .catch((e: unknown) => e);
    expect(isStaleDataError(error)).toBe(false);
    expect((await docs.findOneByOrFail({ id: doc.id })).title).toBe("inside");
  });
});
