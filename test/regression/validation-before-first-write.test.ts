import { InvalidVersionError, MissingVersionError } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";
import { Order, OrderLine, aggregateEntities } from "../support/entities/aggregate";

/**
 * Issue 9, item 8: a line saved with `order: { id, version: "1" }` sent its UPDATE before the
 * InvalidVersionError. Every version the save will check is validated before its first statement.
 */
describe.each(enabledDrivers({ mariadb: true }))("input validated before the first write on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: aggregateEntities });
  });
  afterAll(async () => db?.close());

  const orders = () => db.dataSource.getRepository(Order);
  const lines = () => db.dataSource.getRepository(OrderLine);
  const writes = (statements: string[]) => statements.filter((sql) => /^(UPDATE|INSERT|DELETE)/i.test(sql));

  it.each([
    ["a numeric string", "1", InvalidVersionError],
    ["a fraction", 1.5, InvalidVersionError],
    ["a negative number", -1, InvalidVersionError],
  ])("reproduction: a carried root version that is %s is refused and nothing is written", async (_, version, type) => {
    const order = await orders().save(orders().create({ customer: "ada", lines: [{ product: "tea", quantity: 1, notes: [] }] }));
    const line = await lines().findOneByOrFail({ id: order.lines[0].id });
    line.quantity = 7;
    line.order = { id: order.id, version } as unknown as Order;
    const statements = await db.log.capture(() => expect(lines().save(line)).rejects.toBeInstanceOf(type));
    expect(writes(statements)).toEqual([]);
    expect(await lines().findOneByOrFail({ id: line.id })).toMatchObject({ quantity: 1 });
    expect((await orders().findOneByOrFail({ id: order.id })).version).toBe(1);
  });

  it("a root in the save without a version is refused before its new line is inserted", async () => {
    const order = await orders().save(orders().create({ customer: "ada", lines: [] }));
    const detached = orders().create({
      id: order.id,
      customer: "ada",
      lines: [lines().create({ product: "tea", quantity: 1, notes: [] })],
    });
    const statements = await db.log.capture(() => expect(orders().save(detached)).rejects.toBeInstanceOf(MissingVersionError));
    expect(writes(statements)).toEqual([]);
    expect(await lines().countBy({ order: { id: order.id } })).toBe(0);
  });
});
