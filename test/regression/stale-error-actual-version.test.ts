import type { DataSource, EntityManager } from "typeorm";
import { StaleDataError, type StaleOperation } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { eachDriver } from "../support/each-driver";
import { Doc, coreEntities } from "../support/entities/core";

/**
 * A StaleDataError raised inside a transaction reports the version the row holds as committed,
 * not the one the transaction's snapshot still shows: under MariaDB's default REPEATABLE READ, the
 * re-read used to answer from the snapshot ("expected 1, found 1" with the row at 2).
 *
 * X reads the row inside its transaction (on SQLite before the transaction: an SQLite transaction
 * that read before another connection committed cannot write at all, SQLITE_BUSY_SNAPSHOT), Y
 * changes or removes it on another connection and commits, then X writes its stale copy.
 */
/** Each database's default, named so the test stays what it says if a server's default differs. */
const isolation = { postgres: "READ COMMITTED", mariadb: "REPEATABLE READ", sqlite: "SERIALIZABLE" } as const;

eachDriver(() => true, { mariadb: true })("StaleDataError's actualVersion inside a transaction on %s", (driver) => {
  let db: TestDatabase;
  let other: DataSource;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: coreEntities });
    other = await db.open();
  });
  afterAll(async () => db?.close());

  /** Runs X's stale write after Y's `change`; resolves with the error X got. */
  async function staleWriteAfter(change: (doc: Doc) => Promise<void>, write: (manager: EntityManager, doc: Doc) => Promise<unknown>) {
    const { id } = await db.dataSource.getRepository(Doc).save({ title: "first" });
    const outside = await db.dataSource.getRepository(Doc).findOneByOrFail({ id });
    return db.dataSource
      .transaction(isolation[driver], async (manager) => {
        const mine = driver === "sqlite" ? outside : await manager.findOneByOrFail(Doc, { id }); // fixes MariaDB's snapshot
        await change(await other.getRepository(Doc).findOneByOrFail({ id }));
        await write(manager, mine);
      })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
  }

  const expectStale = (error: unknown, operation: StaleOperation, actualVersion: number | null) => {
    expect(error).toBeInstanceOf(StaleDataError);
    expect(error).toMatchObject({ entityName: "Doc", expectedVersion: 1, actualVersion, operation });
  };

  it("reports the committed version when a save finds the row changed", async () => {
    const changed = async (doc: Doc) => void (await other.getRepository(Doc).save(Object.assign(doc, { title: "by Y" })));
    const error = await staleWriteAfter(changed, (manager, doc) => manager.save(Object.assign(doc, { title: "by X" })));
    expectStale(error, "update", 2);
    expect((error as Error).message).toContain("expected version 1, found 2");
  });

  it("reports the committed version when a remove finds the row changed", async () => {
    const changed = async (doc: Doc) => void (await other.getRepository(Doc).save(Object.assign(doc, { title: "by Y" })));
    const error = await staleWriteAfter(changed, (manager, doc) => manager.remove(doc));
    expectStale(error, "delete", 2);
  });

  it("reports a row removed and committed by another connection as gone", async () => {
    const removed = async (doc: Doc) => void (await other.getRepository(Doc).remove(doc));
    const error = await staleWriteAfter(removed, (manager, doc) => manager.save(Object.assign(doc, { title: "by X" })));
    expectStale(error, "update", null);
    expect((error as Error).message).toContain("row no longer exists");
  });
});
