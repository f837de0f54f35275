import { UnguardedWriteError } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { eachDriver } from "../support/each-driver";
import { LineNote, Order, OrderLine, Shipment, aggregateEntities } from "../support/entities/aggregate";
import { Doc, PlainCounter, coreEntities } from "../support/entities/core";

/**
 * Issue 14, section 3: `repository.clear()` on an aggregate member's table deleted every member
 * (TRUNCATE on PostgreSQL and MariaDB, DELETE on SQLite, sent by the query runner's clearTable,
 * no query builder) and no root moved: every holder of an aggregate could save its old lines back
 * over the emptied one. clear() of a member table is refused like delete() of a member, before
 * anything is sent; clear() of a versioned entity outside every aggregate is let through, like
 * delete() (a blind write: every holder's copy is of a row that is gone).
 */
eachDriver(undefined, { mariadb: true })("clear() on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: [...coreEntities, ...aggregateEntities] });
  });
  afterAll(async () => db?.close());

  const orders = () => db.dataSource.getRepository(Order);
  const lines = () => db.dataSource.getRepository(OrderLine);

  async function refused(work: () => Promise<unknown>, entityName: string): Promise<void> {
    let error: unknown;
    const statements = await db.log.capture(async () => {
      error = await work().catch((e: unknown) => e);
    });
    expect(error).toBeInstanceOf(UnguardedWriteError);
    expect(error).toMatchObject({ operation: "clear()", entityName });
    expect((error as Error).message).toMatch(
      /delete every row of it without moving its root's version\. Remove members through their roots/,
    );
    expect(statements.filter((sql) => /^\s*(TRUNCATE|DELETE|UPDATE)/i.test(sql))).toEqual([]);
  }

  it("reproduction: clear() of a member table is refused; every line stays and no root moves", async () => {
    const order = await orders().save(
      orders().create({ customer: "ada", lines: [{ product: "tea", quantity: 1, notes: [{ text: "hot" }] }] }),
    );
    await refused(() => lines().clear(), "OrderLine");
    await refused(() => db.dataSource.getRepository(LineNote).clear(), "LineNote");
    await refused(() => db.dataSource.getRepository(Shipment).clear(), "Shipment");
    await refused(() => db.dataSource.manager.clear(OrderLine), "OrderLine");
    await db.dataSource.transaction(async (manager) => {
      await refused(() => manager.clear(OrderLine), "OrderLine");
      await refused(() => manager.getRepository("OrderLine").clear(), "OrderLine");
    });
    expect(await lines().countBy({ order: { id: order.id } })).toBe(1);
    expect(await db.dataSource.getRepository(LineNote).count()).toBe(1);
    expect((await orders().findOneByOrFail({ id: order.id })).version).toBe(1);
  });

  it("lets clear() of a versioned entity outside every aggregate, and of a plain entity, through", async () => {
    const docs = db.dataSource.getRepository(Doc);
    await docs.save([docs.create({ title: "a" }), docs.create({ title: "b" })]);
    await docs.clear();
    expect(await docs.count()).toBe(0);
    const counters = db.dataSource.getRepository(PlainCounter);
    await counters.save(counters.create({ value: 1 } as never));
    await counters.clear();
    expect(await counters.count()).toBe(0);
  });
});
