import type { DataSource, Repository } from "typeorm";
import { StaleDataError } from "typeorm-occ";
import {
  StorageDriver,
  Transactional,
  addTransactionalDataSource,
  initializeTransactionalContext,
  runInTransaction,
} from "typeorm-transactional";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";
import { Doc } from "../support/entities/core";

/**
 * typeorm-occ under typeorm-transactional (a popular add-on that runs repositories inside a
 * CLS-scoped `dataSource.transaction()`): versioned saves made through `@Transactional()` and
 * `runInTransaction()` are checked, a StaleDataError rolls the whole unit back, and concurrent units
 * stay separate transactions.
 */
initializeTransactionalContext({ storageDriver: StorageDriver.AUTO });

describe.each(enabledDrivers({ mariadb: true }))("typeorm-transactional with typeorm-occ (%s)", (driver) => {
  let db: TestDatabase;
  let docs: Repository<Doc>;
  /** Another process's connection: not registered with typeorm-transactional. */
  let other: DataSource;

  class DocService {
    /** Saves every given doc with a new title, in one transaction. */
    @Transactional({ connectionName: driver })
    async retitle(copies: Doc[], title: string): Promise<void> {
      for (const copy of copies) {
        copy.title = title;
        await docs.save(copy);
      }
    }

    /** Two saves of one row in one transaction. */
    @Transactional({ connectionName: driver })
    async retitleTwice(copy: Doc): Promise<void> {
      copy.title = "once";
      await docs.save(copy);
      copy.title = "twice";
      await docs.save(copy);
    }
  }
  const service = new DocService();

  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: [Doc] });
    addTransactionalDataSource({ name: driver, dataSource: db.dataSource });
    docs = db.dataSource.getRepository(Doc);
    other = await db.open();
  });
  afterAll(async () => {
    await db?.close();
  });

  const newDocs = (count: number) => docs.save(Array.from({ length: count }, (_, i) => docs.create({ title: `doc ${i}` })));
  const stored = (id: number) => other.getRepository(Doc).findOneByOrFail({ id });

  it("commits the versioned saves of a @Transactional() method together", async () => {
    const [a, b] = await newDocs(2);
    await service.retitle([a, b], "renamed");
    expect(await stored(a.id)).toMatchObject({ title: "renamed", version: 2 });
    expect(await stored(b.id)).toMatchObject({ title: "renamed", version: 2 });
    expect([a.version, b.version]).toEqual([2, 2]);
  });

  it("rolls the whole @Transactional() method back when one save is stale", async () => {
    const [a, b] = await newDocs(2);
    await other.getRepository(Doc).save({ ...(await stored(b.id)), title: "someone else" }); // b is now at 2

    const failure = await service.retitle([a, b], "mine").catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StaleDataError);
    expect(failure).toMatchObject({ entityName: "Doc", expectedVersion: 1, actualVersion: 2 });
    // a's UPDATE ran inside the same transaction and was rolled back with it.
    expect(await stored(a.id)).toMatchObject({ title: "doc 0", version: 1 });
    expect(await stored(b.id)).toMatchObject({ title: "someone else", version: 2 });
    expect(a.version).toBe(1); // the in-memory version is restored on rollback: reload-and-retry works
  });

  it("rolls runInTransaction() back when a save is stale", async () => {
    const [a, b] = await newDocs(2);
    const staleB = await docs.findOneByOrFail({ id: b.id });
    await other.getRepository(Doc).save({ ...(await stored(b.id)), title: "someone else" });

    const failure = await runInTransaction(
      async () => {
        a.title = "mine";
        await docs.save(a);
        staleB.title = "mine";
        await docs.save(staleB);
      },
      { connectionName: driver },
    ).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StaleDataError);
    expect(await stored(a.id)).toMatchObject({ title: "doc 0", version: 1 });
    expect(await stored(b.id)).toMatchObject({ title: "someone else", version: 2 });
  });

  it("moves a row's version once per @Transactional() unit, however often it is saved", async () => {
    const [a] = await newDocs(1);
    await service.retitleTwice(a);
    expect(await stored(a.id)).toMatchObject({ title: "twice", version: 2 });
  });

  it("keeps concurrent @Transactional() units apart: exactly one of two racing writers wins", async () => {
    for (let round = 0; round < 10; round++) {
      const [doc] = await newDocs(1);
      const first = await docs.findOneByOrFail({ id: doc.id });
      const second = await docs.findOneByOrFail({ id: doc.id });
      const outcomes = await Promise.allSettled([service.retitle([first], "first"), service.retitle([second], "second")]);

      const won = outcomes.flatMap((outcome, i) => (outcome.status === "fulfilled" ? [["first", "second"][i]] : []));
      const lost = outcomes.flatMap((outcome) => (outcome.status === "rejected" ? [outcome.reason] : []));
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect(lost[0]).toBeInstanceOf(StaleDataError);
      expect(await stored(doc.id)).toMatchObject({ title: won[0], version: 2 });
    }
  });
});
