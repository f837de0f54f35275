import { UnguardedWriteError } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";
import { Order, OrderLine, Tag, aggregateEntities } from "../support/entities/aggregate";
import { Doc, coreEntities } from "../support/entities/core";

/**
 * Issue 9, item 3: writes through TypeORM's other entry points corrupted the version — upsert()
 * left it unchanged on its update path, update(id, { version: 1 }) moved it backwards, insert()
 * accepted any version — and writes to aggregate members bypassed their root. Each such write now
 * either keeps the version moving forward by exactly one (an insert starts at 1) or is refused with
 * a typed error before anything is sent.
 */
describe.each(enabledDrivers({ mariadb: true }))("writes that bypass save() on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: [...coreEntities, ...aggregateEntities] });
  });
  afterAll(async () => db?.close());

  const docs = () => db.dataSource.getRepository(Doc);
  const orders = () => db.dataSource.getRepository(Order);
  const lines = () => db.dataSource.getRepository(OrderLine);
  const writes = (statements: string[]) => statements.filter((sql) => /^(UPDATE|INSERT|DELETE)/i.test(sql));

  async function refused(work: () => Promise<unknown>, operation: string) {
    const statements = await db.log.capture(() => expect(work()).rejects.toMatchObject({ name: "UnguardedWriteError", operation }));
    expect(writes(statements)).toEqual([]);
  }

  describe("a versioned entity", () => {
    it.each([1, "7", 0, 99])("refuses update() that sets the version by hand (%p), so it can never move backwards", async (version) => {
      const doc = await docs().save(docs().create({ title: "a" }));
      doc.title = "b";
      await docs().save(doc); // version 2
      await refused(() => docs().update(doc.id, { title: "c", version } as never), "update()");
      expect(await docs().findOneByOrFail({ id: doc.id })).toMatchObject({ title: "b", version: 2 });
    });

    it("reproduction: a stale copy cannot overwrite a committed change after an attempted backwards update", async () => {
      const doc = await docs().save(docs().create({ title: "a" }));
      const stale = await docs().findOneByOrFail({ id: doc.id });
      doc.title = "committed";
      await docs().save(doc);
      await expect(docs().update(doc.id, { version: 1 } as never)).rejects.toBeInstanceOf(UnguardedWriteError);
      stale.title = "stale";
      await expect(docs().save(stale)).rejects.toMatchObject({ name: "StaleDataError" });
      expect((await docs().findOneByOrFail({ id: doc.id })).title).toBe("committed");
    });

    it("lets update(), increment() and a query-builder update() through, moving the version by exactly one", async () => {
      const doc = await docs().save(docs().create({ title: "a" }));
      await docs().update(doc.id, { title: "b" });
      await docs().increment({ id: doc.id }, "counter", 5);
      await db.dataSource.createQueryBuilder().update(Doc).set({ title: "c" }).where("id = :id", { id: doc.id }).execute();
      expect(await docs().findOneByOrFail({ id: doc.id })).toMatchObject({ title: "c", counter: 5, version: 4 });
      doc.title = "stale";
      await expect(docs().save(doc)).rejects.toMatchObject({ name: "StaleDataError", expectedVersion: 1, actualVersion: 4 });
    });

    it.each([41, "x", "1"])("refuses insert() with a version given by hand (%p)", async (version) => {
      await refused(() => docs().insert({ title: "hand-made", version } as never), "insert()");
      expect(await docs().countBy({ title: "hand-made" })).toBe(0);
    });

    it("lets insert() without a version through: the row starts at 1", async () => {
      await docs().insert({ title: "inserted" });
      expect(await docs().findOneByOrFail({ title: "inserted" })).toMatchObject({ version: 1 });
    });

    it("reproduction: refuses upsert(), whose update path would leave the version unchanged", async () => {
      const doc = await docs().save(docs().create({ title: "a" }));
      const holder = await docs().findOneByOrFail({ id: doc.id });
      await refused(() => docs().upsert({ id: doc.id, title: "upserted" }, ["id"]), "upsert()");
      holder.title = "holder";
      await docs().save(holder);
      expect(await docs().findOneByOrFail({ id: doc.id })).toMatchObject({ title: "holder", version: 2 });
    });
  });

  describe("an aggregate member", () => {
    async function newOrder() {
      return orders().save(orders().create({ customer: "ada", lines: [{ product: "tea", quantity: 1, notes: [] }] }));
    }

    it.each([
      ["update()", (order: Order) => lines().update(order.lines[0].id, { quantity: 5 })],
      ["update()", (order: Order) => lines().increment({ id: order.lines[0].id }, "quantity", 1)],
      [
        "update()",
        (order: Order) =>
          db.dataSource.createQueryBuilder().update(OrderLine).set({ quantity: 5 }).where("id = :id", { id: order.lines[0].id }).execute(),
      ],
      ["delete()", (order: Order) => lines().delete(order.lines[0].id)],
      ["insert()", (order: Order) => lines().insert({ product: "x", quantity: 1, order: { id: order.id } })],
      ["upsert()", (order: Order) => lines().upsert({ id: order.lines[0].id, product: "x", quantity: 1 }, ["id"])],
    ])("refuses %s on a member row: its root's version would not move", async (operation, write) => {
      const order = await newOrder();
      await refused(() => write(order), operation);
      expect(await lines().findOneByOrFail({ id: order.lines[0].id })).toMatchObject({ product: "tea", quantity: 1 });
      expect((await orders().findOneByOrFail({ id: order.id })).version).toBe(1);
    });

    it("refuses a relation query builder that changes a member or a root's many-to-many links", async () => {
      const order = await newOrder();
      const tag = await db.dataSource.getRepository(Tag).save({ label: "rush" });
      await refused(() => db.dataSource.createQueryBuilder().relation(Order, "tags").of(order.id).add(tag.id), "insert()");
      await refused(() => db.dataSource.createQueryBuilder().relation(OrderLine, "order").of(order.lines[0].id).set(null), "update()");
      expect((await orders().findOneByOrFail({ id: order.id })).version).toBe(1);
    });

    it("still lets update() move the root row itself (by exactly one: every holder goes stale)", async () => {
      const order = await newOrder();
      const holder = await orders().findOneOrFail({ where: { id: order.id }, relations: { lines: true } });
      await orders().update(order.id, { customer: "grace" });
      holder.lines[0].quantity = 3;
      await expect(orders().save(holder)).rejects.toMatchObject({ name: "StaleDataError", expectedVersion: 1, actualVersion: 2 });
    });
  });
});
