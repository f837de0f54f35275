import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";
import { Order, OrderLine, aggregateEntities } from "../support/entities/aggregate";

/**
 * Adversary finding: Y reads order 7 (say, to show it), X removes order 7 and commits, Y adds a line
 * to it by key — `lines.save({ product, quantity, order: { id: 7 } })`, the accepted way to insert a
 * member without its root. The library's unchecked root move (`SET version = version + 1 WHERE id = 7`)
 * matches no row and is ignored; TypeORM's INSERT then fails with the driver's foreign-key violation
 * (QueryFailedError with the driver's text, PostgreSQL 23503, SQLite "FOREIGN KEY constraint failed",
 * MariaDB ER_NO_REFERENCED_ROW_2). The regression suite covers the same race when the line is added
 * through a loaded order (StaleDataError); by key it is not.
 * Promise: the loser of a race on an aggregate gets StaleDataError (here with actualVersion null, "row
 * no longer exists"), never a driver error.
 * Likely cause: src/aggregate/lock-roots-first.ts, moveRoots with `carried === undefined`: a generated
 * result of no row (0 affected) must raise StaleDataError instead of moving on.
 */
describe.each(enabledDrivers({ mariadb: true }))("a member inserted by its root's key after the root was removed on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: aggregateEntities });
  });
  afterAll(async () => db?.close());

  it("raises StaleDataError (the root no longer exists), not a foreign-key violation", async () => {
    const orders = db.dataSource.getRepository(Order);
    const created = await orders.save(orders.create({ customer: "ada", lines: [{ product: "tea", quantity: 1, notes: [] }] }));
    const seenByY = created.id;
    await orders.remove(await orders.findOneOrFail({ where: { id: created.id }, relations: { lines: true } }));

    const error = await db.dataSource
      .getRepository(OrderLine)
      .save({ product: "cake", quantity: 1, order: { id: seenByY } })
      .then(
        () => undefined,
        (caught: unknown) => caught,
      );
    expect(error).toMatchObject({ name: "StaleDataError", entityName: "Order", actualVersion: null });
  });
});
