import { StaleDataError, UnguardedWriteError, uncheckedMemberWrite } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";
import { Order, OrderLine, aggregateEntities } from "../support/entities/aggregate";

/**
 * Issue 9, item 2: X loads a line on its own; Y changes the line's quantity through the order and
 * commits; X changes the line's product and saves the line. Before the fix X succeeded and Y's
 * quantity went back to its old value (the root was bumped unchecked, which protects other holders
 * of the root but not the writer's own stale line).
 */
describe.each(enabledDrivers({ mariadb: true }))("a member saved without its root on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: aggregateEntities });
  });
  afterAll(async () => db?.close());

  const orders = () => db.dataSource.getRepository(Order);
  const lines = () => db.dataSource.getRepository(OrderLine);
  const loadOrder = (id: number) => orders().findOneOrFail({ where: { id }, relations: { lines: true }, order: { lines: { id: "ASC" } } });

  async function newOrder(): Promise<Order> {
    const order = await orders().save(orders().create({ customer: "ada", lines: [{ product: "tea", quantity: 1, notes: [] }] }));
    return loadOrder(order.id);
  }

  async function changeQuantityThroughOrder(orderId: number, quantity: number): Promise<void> {
    const y = await loadOrder(orderId);
    y.lines[0].quantity = quantity;
    await orders().save(y);
  }

  it("reproduction: refuses to overwrite a line loaded on its own, and Y's change survives", async () => {
    const order = await newOrder();
    const x = await lines().findOneByOrFail({ id: order.lines[0].id });
    await changeQuantityThroughOrder(order.id, 5);

    x.product = "coffee";
    const statements = await db.log.capture(() => expect(lines().save(x)).rejects.toBeInstanceOf(UnguardedWriteError));
    expect(statements.filter((sql) => /^(UPDATE|INSERT|DELETE)/i.test(sql))).toEqual([]);
    expect(await lines().findOneByOrFail({ id: x.id })).toMatchObject({ product: "tea", quantity: 5 });
  });

  it("the error says what to do instead", async () => {
    const order = await newOrder();
    const x = await lines().findOneByOrFail({ id: order.lines[0].id });
    x.product = "coffee";
    const error = (await lines()
      .save(x)
      .catch((e: unknown) => e)) as UnguardedWriteError;
    expect(error).toMatchObject({ name: "UnguardedWriteError", entityName: "OrderLine", operation: "save" });
    expect(error.message).toContain(`OrderLine#${x.id} belongs to aggregate Order#${order.id}`);
    expect(error.message).toContain("relations: { order: true }");
    expect(error.message).toContain("@VersionColumn()");
    expect(error.message).toContain("uncheckedMemberWrite()");
  });

  it("checks a line loaded with its order against that order's version: stale → StaleDataError, nothing written", async () => {
    const order = await newOrder();
    const x = await lines().findOneOrFail({ where: { id: order.lines[0].id }, relations: { order: true } });
    await changeQuantityThroughOrder(order.id, 5);
    x.product = "coffee";
    await expect(lines().save(x)).rejects.toMatchObject({
      name: "StaleDataError",
      entityName: "Order",
      expectedVersion: 1,
      actualVersion: 2,
    });
    expect(await lines().findOneByOrFail({ id: x.id })).toMatchObject({ product: "tea", quantity: 5 });
  });

  it("checks a line taken from a loaded order against that order, even when saved through its own repository", async () => {
    const order = await newOrder();
    const line = order.lines[0];
    line.product = "coffee";
    await lines().save(line);
    expect(order.version).toBe(2); // the order it was loaded with moved in memory too
    expect((await loadOrder(order.id)).version).toBe(2);

    await changeQuantityThroughOrder(order.id, 9);
    line.product = "cocoa";
    await expect(lines().save(line)).rejects.toBeInstanceOf(StaleDataError);
    expect(await lines().findOneByOrFail({ id: line.id })).toMatchObject({ product: "coffee", quantity: 9 });
  });

  it("removes a line on its own only when its root is checked", async () => {
    const order = await newOrder();
    const alone = await lines().findOneByOrFail({ id: order.lines[0].id });
    await expect(lines().remove(alone)).rejects.toMatchObject({ name: "UnguardedWriteError", operation: "remove" });
    expect(await lines().countBy({ id: order.lines[0].id })).toBe(1);

    const withOrder = await lines().findOneOrFail({ where: { id: order.lines[0].id }, relations: { order: true } });
    await lines().remove(withOrder);
    expect(await lines().countBy({ id: order.lines[0].id })).toBe(0);
    expect((await orders().findOneByOrFail({ id: order.id })).version).toBe(2);
  });

  it("does not insert again a line removed meanwhile (found by the stress checker): StaleDataError, or a refusal without a root", async () => {
    const order = await orders().save(
      orders().create({
        customer: "ada",
        lines: [
          { product: "tea", quantity: 1, notes: [] },
          { product: "cake", quantity: 1, notes: [] },
        ],
      }),
    );
    const x = await loadOrder(order.id);
    const alone = await lines().findOneByOrFail({ id: x.lines[0].id });
    const y = await loadOrder(order.id);
    y.lines = y.lines.slice(1); // Y removes the first line (orphan removal deletes it)
    await orders().save(y);

    const removed = x.lines[0];
    removed.quantity = 9137;
    await expect(lines().save(removed)).rejects.toMatchObject({
      name: "StaleDataError",
      entityName: "Order",
      expectedVersion: 1,
      actualVersion: 2,
    });
    alone.quantity = 9137;
    await expect(lines().save(alone)).rejects.toBeInstanceOf(UnguardedWriteError);
    expect(await lines().countBy({ id: removed.id })).toBe(0);
    expect(await lines().countBy({ quantity: 9137 })).toBe(0);
  });

  it("with uncheckedMemberWrite(), writes last-writer-wins and still moves the root", async () => {
    const order = await newOrder();
    const holder = await loadOrder(order.id);
    const x = await lines().findOneByOrFail({ id: order.lines[0].id });
    x.product = "coffee";
    await lines().save(x, uncheckedMemberWrite({ reload: false }));
    expect((await orders().findOneByOrFail({ id: order.id })).version).toBe(2);
    holder.customer = "late";
    await expect(orders().save(holder)).rejects.toBeInstanceOf(StaleDataError);
  });

  it("inserts a new member with only its root's key: nothing to overwrite, the root moves unchecked", async () => {
    const order = await newOrder();
    await lines().save(lines().create({ product: "new", quantity: 1, order: { id: order.id } }));
    expect((await orders().findOneByOrFail({ id: order.id })).version).toBe(2);
  });
});
