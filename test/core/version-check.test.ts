import { InvalidVersionError, MissingVersionError, StaleDataError } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";
import { Doc, OccCounter, PlainCounter, SoftDoc, StockItem, coreEntities } from "../support/entities/core";

describe.each(enabledDrivers({ mariadb: true }))("version-checked save and remove on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: coreEntities });
  });
  afterAll(async () => db?.close());

  const docs = () => db.dataSource.getRepository(Doc);

  it("writes version 1 on insert and keeps it on the object", async () => {
    const doc = await docs().save(docs().create({ title: "a" }));
    expect(doc.version).toBe(1);
    expect((await docs().findOneByOrFail({ id: doc.id })).version).toBe(1);
  });

  it("puts the expected version in the UPDATE's WHERE clause and bumps it by one", async () => {
    const doc = await docs().save(docs().create({ title: "a" }));
    doc.title = "b";
    const statements = await db.log.capture(() => docs().save(doc));
    const updates = statements.filter((sql) => /^UPDATE/i.test(sql));
    expect(updates).toHaveLength(1);
    expect(updates[0]).toMatch(/WHERE .*version.* = /i);
    expect(doc.version).toBe(2);
    expect(await docs().findOneByOrFail({ id: doc.id })).toMatchObject({ title: "b", version: 2 });
  });

  it("issues no more statements than a plain TypeORM save, and for a loaded copy only the checked one", async () => {
    const count = async (entity: typeof OccCounter | typeof PlainCounter) => {
      const repository = db.dataSource.getRepository<OccCounter | PlainCounter>(entity);
      const inserted = await db.log.capture(() => repository.save(repository.create({ value: 1 })));
      const row = await repository.findOneByOrFail({ value: 1 });
      row.value = 2;
      const updated = await db.log.capture(() => repository.save(row));
      const untouched = await db.log.capture(() => repository.save(row));
      const removed = await db.log.capture(() => repository.remove(row));
      await repository.clear();
      return [inserted, updated, untouched, removed].map((statements) => statements.map((sql) => sql.split(" ")[0]));
    };
    const [occ, plain] = [await count(OccCounter), await count(PlainCounter)];
    expect(occ[0]).toEqual(plain[0]); // an INSERT is TypeORM's own
    // The copy's read stands in for TypeORM's pre-load; one checked statement needs no transaction.
    expect(occ.slice(1)).toEqual([["UPDATE"], ["SELECT"], ["DELETE"]]);
    occ.forEach((statements, index) => expect(statements.length).toBeLessThanOrEqual(plain[index].length));
  });

  it("moves the in-memory version with { reload: false } too", async () => {
    const doc = await docs().save(docs().create({ title: "a" }));
    doc.title = "b";
    await docs().save(doc, { reload: false });
    expect(doc.version).toBe(2);
    expect((await docs().findOneByOrFail({ id: doc.id })).version).toBe(2);
  });

  it("raises StaleDataError when another writer moved the version, and writes nothing", async () => {
    const created = await docs().save(docs().create({ title: "original" }));
    const mine = await docs().findOneByOrFail({ id: created.id });
    const theirs = await docs().findOneByOrFail({ id: created.id });
    theirs.title = "theirs";
    await docs().save(theirs);

    mine.title = "mine";
    const error = await docs()
      .save(mine)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StaleDataError);
    expect(error).toMatchObject({
      entityName: "Doc",
      primaryKey: { id: created.id },
      expectedVersion: 1,
      actualVersion: 2,
      operation: "update",
      entity: mine,
    });
    expect((error as Error).message).toBe(`Doc#${created.id} is stale: expected version 1, found 2 (update)`);
    expect(mine.version).toBe(1);
    expect(await docs().findOneByOrFail({ id: created.id })).toMatchObject({ title: "theirs", version: 2 });
  });

  it("checks the version a detached client sent back", async () => {
    const created = await docs().save(docs().create({ title: "v1" }));
    const fromClient = docs().create({ id: created.id, title: "edited offline", version: 1 });
    await docs().save(fromClient);
    expect(fromClient.version).toBe(2);

    const staleClient = docs().create({ id: created.id, title: "late edit", version: 1 });
    await expect(docs().save(staleClient)).rejects.toMatchObject({ name: "StaleDataError", expectedVersion: 1, actualVersion: 2 });
    expect((await docs().findOneByOrFail({ id: created.id })).title).toBe("edited offline");
  });

  it("detects the race the pre-load cannot see: the UPDATE itself matches no row", async () => {
    const created = await docs().save(docs().create({ title: "x" }));
    // Built by hand, so TypeORM pre-loads the row (a loaded copy's read stands in for that SELECT).
    const mine = docs().create({ id: created.id, version: 1, title: "mine" });
    // Another writer commits between TypeORM's pre-load SELECT and our UPDATE.
    let raced = false;
    const original = db.dataSource.createQueryRunner.bind(db.dataSource);
    const spy = jest.spyOn(db.dataSource, "createQueryRunner").mockImplementation((...args) => {
      const runner = original(...args);
      const startTransaction = runner.startTransaction.bind(runner);
      runner.startTransaction = async (level) => {
        if (!raced) {
          raced = true;
          await db.dataSource.getRepository(Doc).update({ id: created.id }, { title: "sneaky" }); // TypeORM's QB bumps version
        }
        return startTransaction(level);
      };
      return runner;
    });
    try {
      const error = await docs()
        .save(mine)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StaleDataError);
      expect(error).toMatchObject({ expectedVersion: 1, actualVersion: 2 });
    } finally {
      spy.mockRestore();
    }
    expect(await docs().findOneByOrFail({ id: created.id })).toMatchObject({ title: "sneaky", version: 2 });
  });

  it("rolls back the whole save: in save([a, b]) with b stale, a is not written", async () => {
    const [a, b] = await docs().save([docs().create({ title: "a" }), docs().create({ title: "b" })]);
    await docs().save({ ...(await docs().findOneByOrFail({ id: b.id })), title: "b by someone else" });
    a.title = "a2";
    b.title = "b2";
    await expect(docs().save([a, b])).rejects.toBeInstanceOf(StaleDataError);
    expect(await docs().findOneByOrFail({ id: a.id })).toMatchObject({ title: "a", version: 1 });
    expect(a.version).toBe(1);
    expect(b.version).toBe(1);
  });

  it("keeps pre-save versions after a failure: reload-and-retry works, a blind retry fails again", async () => {
    const created = await docs().save(docs().create({ title: "x", counter: 0 }));
    const mine = await docs().findOneByOrFail({ id: created.id });
    await docs().save({ ...(await docs().findOneByOrFail({ id: created.id })), counter: 10 });
    mine.counter += 1;
    await expect(docs().save(mine)).rejects.toBeInstanceOf(StaleDataError);
    await expect(docs().save(mine)).rejects.toBeInstanceOf(StaleDataError);
    const reloaded = await docs().findOneByOrFail({ id: created.id });
    reloaded.counter += 1;
    await docs().save(reloaded);
    expect(await docs().findOneByOrFail({ id: created.id })).toMatchObject({ counter: 11, version: 3 });
  });

  it("restores in-memory versions when the user's own transaction rolls back", async () => {
    const a = await docs().save(docs().create({ title: "a" }));
    const b = await docs().save(docs().create({ title: "b" }));
    await db.dataSource.getRepository(Doc).update({ id: b.id }, { title: "b elsewhere" });
    a.title = "a2";
    b.title = "b2";
    const error = await db.dataSource
      .transaction(async (manager) => {
        await manager.save(a);
        expect(a.version).toBe(2);
        await manager.save(b);
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StaleDataError);
    expect(a.version).toBe(1);
    expect(await docs().findOneByOrFail({ id: a.id })).toMatchObject({ title: "a", version: 1 });
    // Retrying the same object now works because its version is the committed one again.
    await docs().save(a);
    expect(a.version).toBe(2);
  });

  it("restores only what a rolled-back savepoint changed", async () => {
    const a = await docs().save(docs().create({ title: "a" }));
    const b = await docs().save(docs().create({ title: "b" }));
    await db.dataSource.transaction(async (manager) => {
      a.title = "a2";
      await manager.save(a);
      await manager
        .transaction(async (inner) => {
          b.title = "b2";
          await inner.save(b);
          expect(b.version).toBe(2);
          throw new Error("inner unit fails");
        })
        .catch(() => undefined);
      expect(b.version).toBe(1);
      expect(a.version).toBe(2);
    });
    expect(await docs().findOneByOrFail({ id: a.id })).toMatchObject({ title: "a2", version: 2 });
    expect(await docs().findOneByOrFail({ id: b.id })).toMatchObject({ title: "b", version: 1 });
  });

  it("moves a version once per transaction when the same row is saved twice in it", async () => {
    const doc = await docs().save(docs().create({ title: "a" }));
    await db.dataSource.transaction(async (manager) => {
      doc.title = "b";
      await manager.save(doc);
      doc.title = "c";
      await manager.save(doc);
    });
    expect(doc.version).toBe(2);
    expect(await docs().findOneByOrFail({ id: doc.id })).toMatchObject({ title: "c", version: 2 });
  });

  it("moves a version once per transaction when a row is changed, soft-removed and recovered in it", async () => {
    const softDocs = db.dataSource.getRepository(SoftDoc);
    const doc = await softDocs.save(softDocs.create({ title: "a" }));
    await db.dataSource.transaction(async (manager) => {
      doc.title = "b";
      await manager.save(doc);
      await manager.softRemove(doc);
      expect(doc).toMatchObject({ version: 2, deletedAt: expect.any(Date) });
      expect(await manager.findOne(SoftDoc, { where: { id: doc.id }, withDeleted: true })).toMatchObject({
        version: 2,
        deletedAt: expect.any(Date),
      });
      await manager.recover(doc);
      expect(doc.version).toBe(2);
    });
    expect(doc.version).toBe(2);
    expect(await softDocs.findOneByOrFail({ id: doc.id })).toMatchObject({ title: "b", version: 2, deletedAt: null });
    const copy = await softDocs.findOneByOrFail({ id: doc.id });
    await db.dataSource.transaction(async (manager) => {
      await manager.softRemove(copy);
      await manager.recover(copy);
    });
    expect(await softDocs.findOneByOrFail({ id: doc.id })).toMatchObject({ version: 3, deletedAt: null });
  });

  it("issues no UPDATE and keeps the version when nothing changed", async () => {
    const doc = await docs().save(docs().create({ title: "same" }));
    const loaded = await docs().findOneByOrFail({ id: doc.id });
    const statements = await db.log.capture(() => docs().save(loaded));
    expect(statements.filter((sql) => /^(UPDATE|INSERT|DELETE)/i.test(sql))).toEqual([]);
    expect(loaded.version).toBe(1);
  });

  it("rejects a stale version even when nothing else changed (the client's copy is outdated)", async () => {
    const doc = await docs().save(docs().create({ title: "same" }));
    await docs().save({ ...doc, title: "new" });
    const outdated = docs().create({ id: doc.id, title: "new", version: 1 });
    await expect(docs().save(outdated)).rejects.toMatchObject({ name: "StaleDataError", actualVersion: 2 });
  });

  it("raises StaleDataError when a row the object came from was deleted (no silent re-insert)", async () => {
    const doc = await docs().save(docs().create({ title: "gone" }));
    await docs().delete({ id: doc.id });
    doc.title = "edited";
    await expect(docs().save(doc)).rejects.toMatchObject({ name: "StaleDataError", actualVersion: null });
    expect(await docs().findOneBy({ id: doc.id })).toBeNull();
  });

  describe("remove and softRemove", () => {
    it("removes a current object and refuses a stale one, leaving the row untouched", async () => {
      const fresh = await docs().save(docs().create({ title: "r" }));
      const stale = await docs().findOneByOrFail({ id: fresh.id });
      fresh.title = "moved on";
      await docs().save(fresh);
      const statements: string[] = [];
      await expect(db.log.capture(() => docs().remove(stale)).then((sql) => statements.push(...sql))).rejects.toMatchObject({
        name: "StaleDataError",
        operation: "delete",
        expectedVersion: 1,
        actualVersion: 2,
      });
      expect(await docs().findOneByOrFail({ id: fresh.id })).toMatchObject({ title: "moved on", version: 2 });
      await docs().remove(fresh);
      expect(await docs().findOneBy({ id: stale.id })).toBeNull();
    });

    it("checks every object of a batch remove: one stale row means none is removed", async () => {
      const rows = await docs().save([1, 2, 3].map((n) => docs().create({ title: `batch ${n}` })));
      const ids = rows.map((row) => row.id);
      await docs().save({ ...(await docs().findOneByOrFail({ id: ids[1] })), title: "changed" });
      const error = await docs()
        .remove(rows)
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ name: "StaleDataError", operation: "delete", primaryKey: { id: ids[1] }, actualVersion: 2 });
      for (const id of ids) expect(await docs().findOneBy({ id })).not.toBeNull();
    });

    it("issues the batch as one DELETE checking each row's version", async () => {
      const rows = await docs().save([1, 2].map((n) => docs().create({ title: `del ${n}` })));
      await docs().save(Object.assign(rows[1], { title: "del 2, version 2" })); // rows at one version share one check
      const statements = await db.log.capture(() => docs().remove(rows));
      const deletes = statements.filter((sql) => /^DELETE/i.test(sql));
      expect(deletes).toHaveLength(1);
      expect(deletes[0].match(/version/gi)).toHaveLength(2);
    });

    it("reports a concurrently deleted row with actualVersion null", async () => {
      const doc = await docs().save(docs().create({ title: "twice" }));
      const copy = await docs().findOneByOrFail({ id: doc.id });
      await docs().remove(doc);
      await expect(docs().remove(copy)).rejects.toMatchObject({ name: "StaleDataError", actualVersion: null, operation: "delete" });
    });

    it("soft-removes with a version check and bumps the version", async () => {
      const softDocs = db.dataSource.getRepository(SoftDoc);
      const doc = await softDocs.save(softDocs.create({ title: "s" }));
      const stale = await softDocs.findOneByOrFail({ id: doc.id });
      doc.title = "s2";
      await softDocs.save(doc);
      await expect(softDocs.softRemove(stale)).rejects.toMatchObject({
        name: "StaleDataError",
        operation: "soft-delete",
        actualVersion: 2,
      });
      expect(await softDocs.findOneBy({ id: doc.id })).not.toBeNull();

      await softDocs.softRemove(doc);
      expect(doc.version).toBe(3);
      expect(await softDocs.findOneBy({ id: doc.id })).toBeNull();
      const row = await softDocs.findOneOrFail({ where: { id: doc.id }, withDeleted: true });
      expect(row.version).toBe(3);
      expect(row.deletedAt).toBeInstanceOf(Date);

      await softDocs.recover(doc);
      expect(doc.version).toBe(4);
      expect(await softDocs.findOneBy({ id: doc.id })).not.toBeNull();
    });
  });

  it("works with composite primary keys", async () => {
    const items = db.dataSource.getRepository(StockItem);
    const item = await items.save(items.create({ tenant: "acme", sku: 7, quantity: 1 }));
    await items.save(items.create({ tenant: "acme", sku: 8, quantity: 1 }));
    const stale = await items.findOneByOrFail({ tenant: "acme", sku: 7 });
    item.quantity = 2;
    await items.save(item);
    expect(item.version).toBe(2);
    stale.quantity = 5;
    await expect(items.save(stale)).rejects.toMatchObject({
      name: "StaleDataError",
      primaryKey: { tenant: "acme", sku: 7 },
      expectedVersion: 1,
      actualVersion: 2,
    });
    expect((await items.findOneByOrFail({ tenant: "acme", sku: 8 })).version).toBe(1);
    await expect(items.remove(stale)).rejects.toBeInstanceOf(StaleDataError);
    await items.remove(item);
    expect(await items.findOneBy({ tenant: "acme", sku: 7 })).toBeNull();
  });

  describe("bad input gets a typed error and writes nothing", () => {
    it.each([["abc"], ["3"], [1.5], [Number.NaN], [-1], [Number.MAX_SAFE_INTEGER + 2], [{}]])("rejects version %p", async (bad) => {
      const doc = await docs().save(docs().create({ title: "typed" }));
      const tampered = docs().create({ id: doc.id, title: "tampered", version: bad as number });
      const error = await docs()
        .save(tampered)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidVersionError);
      expect((error as Error).message).toContain("Doc.version");
      expect(await docs().findOneByOrFail({ id: doc.id })).toMatchObject({ title: "typed", version: 1 });
    });

    it("refuses to save an existing row without a version (MissingVersionError)", async () => {
      const doc = await docs().save(docs().create({ title: "keep" }));
      const error = await docs()
        .save({ id: doc.id, title: "overwrite" })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MissingVersionError);
      expect((error as Error).message).toContain(`Doc#${doc.id}`);
      await expect(docs().remove(docs().create({ id: doc.id }))).rejects.toBeInstanceOf(MissingVersionError);
      expect(await docs().findOneByOrFail({ id: doc.id })).toMatchObject({ title: "keep", version: 1 });
    });
  });
});
