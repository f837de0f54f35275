import { withOptimisticRetry } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";
import { Order, OrderLine, aggregateEntities } from "../support/entities/aggregate";

/**
 * Issue 9, item 12: inside one transaction, load an order, save a new line with `order: { id }`
 * (which moves the root unchecked), then change and save the order. Before the fix the library's
 * own bump made the order look stale ("expected 1, found 2") and withOptimisticRetry failed every
 * attempt. A version this transaction moved maps the copy it read onto the new version.
 */
describe.each(enabledDrivers({ mariadb: true }))("the library's own bump inside one transaction on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: aggregateEntities });
  });
  afterAll(async () => db?.close());

  const orders = () => db.dataSource.getRepository(Order);

  it("reproduction: no false conflict, and the version moves once", async () => {
    const { id } = await orders().save(orders().create({ customer: "ada", lines: [] }));
    await db.dataSource.transaction(async (manager) => {
      const order = await manager.findOneByOrFail(Order, { id });
      await manager.save(manager.create(OrderLine, { product: "tea", quantity: 1, order: { id } }));
      order.customer = "grace";
      await manager.save(order);
      expect(order.version).toBe(2);
    });
    expect(await orders().findOneByOrFail({ id })).toMatchObject({ customer: "grace", version: 2 });
  });

  it("withOptimisticRetry succeeds on the first attempt", async () => {
    const { id } = await orders().save(orders().create({ customer: "ada", lines: [] }));
    const attempts: number[] = [];
    await withOptimisticRetry(
      async (manager, attempt) => {
        attempts.push(attempt);
        const order = await manager.findOneByOrFail(Order, { id });
        await manager.save(manager.create(OrderLine, { product: "tea", quantity: 1, order: { id } }));
        order.customer = "grace";
        await manager.save(order);
      },
      { dataSource: db.dataSource },
    );
    expect(attempts).toEqual([0]);
  });

  it("still refuses a copy read before another transaction's change", async () => {
    const { id } = await orders().save(orders().create({ customer: "ada", lines: [] }));
    const stale = await orders().findOneByOrFail({ id });
    const other = await orders().findOneByOrFail({ id });
    other.customer = "other";
    await orders().save(other); // version 2, committed by someone else
    await expect(
      db.dataSource.transaction(async (manager) => {
        await manager.save(manager.create(OrderLine, { product: "tea", quantity: 1, order: { id } })); // 2 → 3 by us
        stale.customer = "mine";
        await manager.save(stale); // read at 1: neither the version before our move (2) nor after it (3)
      }),
    ).rejects.toMatchObject({ name: "StaleDataError", expectedVersion: 1 });
    expect(await orders().findOneByOrFail({ id })).toMatchObject({ customer: "other", version: 2 });
  });
});
