import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { eachDriver } from "../support/each-driver";
import { Doc, coreEntities } from "../support/entities/core";

/**
 * Adversary finding (SQLite, one DataSource shared by concurrent callers, the default set-up of an
 * app on better-sqlite3). Writes are queued by the write gate, reads are not, and every caller uses
 * the same connection: a read outside any transaction runs inside whatever transaction another
 * caller holds open, and sees its uncommitted write (dirty read). Then:
 * 1. A's transaction changes the title (version 1 → 2, not committed) and waits;
 * 2. B reads the doc: title "uncommitted", version 2;
 * 3. A rolls back: the row is back at version 1;
 * 4. C changes the counter to 42 and commits: version 2 again, other content;
 * 5. B increments the counter from its copy and saves: its version 2 matches, the save succeeds.
 * C's 42 is lost, and A's rolled-back title is now committed. One version number named two states.
 * Promise: a write based on an outdated read never lands silently; no caller's rollback erases (or
 * here: resurrects) another's write; versions move forward by exactly 1.
 * Likely cause: src/sqlite-gate/shared-connection-gate.ts queues write units only ("reads are not queued"); a read
 * on the shared connection must not run inside another caller's open transaction (queue it too, or
 * read through a second connection).
 */
eachDriver((driver) => driver === "sqlite")("a read while another caller's transaction is open on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: coreEntities });
  });
  afterAll(async () => db?.close());

  it("does not see the uncommitted write, so a version never names two states", async () => {
    const docs = db.dataSource.getRepository(Doc);
    const { id } = await docs.save(docs.create({ title: "original", counter: 0 }));

    let rollBack!: () => void;
    const rollBackNow = new Promise<void>((resolve) => (rollBack = resolve));
    let written!: () => void;
    const aWrote = new Promise<void>((resolve) => (written = resolve));
    const a = db.dataSource
      .transaction(async (manager) => {
        const mine = await manager.findOneByOrFail(Doc, { id });
        mine.title = "uncommitted";
        await manager.save(mine);
        written();
        await rollBackNow;
        throw new Error("A gives up");
      })
      .catch((error: Error) => error.message);
    await aWrote;

    // B reads while A's transaction is open: given time to run there, the read must wait for A instead.
    const bRead = docs.findOneByOrFail({ id });
    await new Promise((resolve) => setTimeout(resolve, 100));
    rollBack();
    expect(await a).toBe("A gives up");
    const b = await bRead;

    const c = await docs.findOneByOrFail({ id });
    c.counter = 42;
    await docs.save(c);

    b.counter += 1;
    await docs.save(b).catch(() => undefined); // refused or not: what matters is what is stored
    const stored = await docs.findOneByOrFail({ id });
    expect(b.title).toBe("original"); // B never saw what A did not commit
    expect(stored).toMatchObject({ title: "original", counter: 42 });
  });
});
