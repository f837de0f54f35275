import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";
import { Order, OrderLine, aggregateEntities } from "../support/entities/aggregate";
import { Doc, coreEntities } from "../support/entities/core";
import { parseVersion, updateIf } from "typeorm-occ";

/**
 * Adversary finding (PostgreSQL): a version from outside that parseVersion() accepts (a safe
 * non-negative integer, e.g. If-Match "2147483648") but that does not fit the version column
 * (PostgreSQL `integer`, max 2^31 - 1) reaches the database as a parameter, and the caller gets the
 * driver's QueryFailedError `value "2147483649" is out of range for type integer` (an HTTP 500 through
 * occErrorHandler) instead of StaleDataError (no row can be at that version) or InvalidVersionError.
 * Hit when the root's version is checked without a pre-load: a member saved with its root's key and
 * version, and a root object whose version was set from a request; also updateIf with the version in
 * `where`. MariaDB and SQLite answer StaleDataError / ConditionNotMetError here.
 * Promise: versions from outside are refused with a typed error, or a stale one with StaleDataError;
 * no untyped driver error.
 * Likely cause: src/version/version-value.ts (assertVersion) bounds by Number.MAX_SAFE_INTEGER only;
 * src/persistence/versioned-writes.ts sends expected and expected + 1 as parameters of the column's type. A
 * version above the column's range cannot match any row: StaleDataError without a statement (or
 * InvalidVersionError), and never `expected + 1` beyond the range.
 */
describe.each(enabledDrivers({ mariadb: true }))("a version beyond the column's range on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: [...aggregateEntities, ...coreEntities] });
  });
  afterAll(async () => db?.close());

  const fromRequest = parseVersion("2147483648"); // accepted: a safe integer
  const typed = (error: unknown) => (error as Error | undefined)?.name;

  it("a member saved with its root's key and an out-of-range version: StaleDataError", async () => {
    const orders = db.dataSource.getRepository(Order);
    const order = await orders.save(orders.create({ customer: "ada", lines: [{ product: "tea", quantity: 1, notes: [] }] }));
    const error = await db.dataSource
      .getRepository(OrderLine)
      .save({ id: order.lines[0].id, quantity: 3, order: { id: order.id, version: fromRequest } })
      .then(
        () => undefined,
        (caught: unknown) => caught,
      );
    expect(typed(error)).toMatch(/^(StaleDataError|InvalidVersionError)$/);
    expect((await orders.findOneByOrFail({ id: order.id })).version).toBe(1);
  });

  it("a loaded line whose root carries a version from a request: StaleDataError", async () => {
    const orders = db.dataSource.getRepository(Order);
    const order = await orders.save(orders.create({ customer: "ada", lines: [{ product: "tea", quantity: 1, notes: [] }] }));
    const line = await db.dataSource
      .getRepository(OrderLine)
      .findOneOrFail({ where: { id: order.lines[0].id }, relations: { order: true } });
    line.order.version = parseVersion("2147483647"); // fits the column; its next version does not
    line.quantity = 3;
    const error = await db.dataSource
      .getRepository(OrderLine)
      .save(line)
      .then(
        () => undefined,
        (caught: unknown) => caught,
      );
    expect(typed(error)).toMatch(/^(StaleDataError|InvalidVersionError)$/);
  });

  it("updateIf with the version in where: ConditionNotMetError", async () => {
    const docs = db.dataSource.getRepository(Doc);
    const doc = await docs.save(docs.create({ title: "a" }));
    const error = await updateIf(docs, { id: doc.id, version: fromRequest }, { title: "b" }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(typed(error)).toMatch(/^(ConditionNotMetError|InvalidVersionError)$/);
  });
});
