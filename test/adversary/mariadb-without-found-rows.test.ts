import type { DataSource } from "typeorm";
import { withOptimisticRetry } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { eachDriver } from "../support/each-driver";
import { Order, aggregateEntities } from "../support/entities/aggregate";

/**
 * Adversary finding (MariaDB/MySQL with mysql2's `flags: ["-FOUND_ROWS"]`, a legitimate driver
 * setting): affectedRows then counts *changed* rows, not matched ones. The statement that locks and
 * checks a root without moving it (`SET version = 1 WHERE id = ? AND version = 1`, sent when an
 * aggregate's members are removed one by one) changes nothing, reports 0, and the library raises
 * StaleDataError "expected version 1, found 1" on every attempt: an aggregate can never be removed,
 * and withOptimisticRetry retries a conflict that does not exist until it gives up.
 * Promise: the library refuses to run with a driver whose affected-row count it cannot use
 * (TypeOrmCompatibilityError at initialize()), rather than report false conflicts.
 * Likely cause: src/persistence/versioned-writes.ts reads affectedRows as "matched"; the lock-and-check statement
 * should not depend on it (e.g. SET version = version, which InnoDB also reports as unchanged — so use
 * a locking SELECT … FOR UPDATE for that case), or initialize() should detect the flag and refuse.
 */
eachDriver((driver) => driver === "mariadb", { mariadb: true })("an aggregate removed on %s without FOUND_ROWS", (driver) => {
  let db: TestDatabase;
  let changedRows: DataSource | Error;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: aggregateEntities });
    changedRows = await db
      .open({ entities: aggregateEntities, flags: ["-FOUND_ROWS"] } as Parameters<TestDatabase["open"]>[0])
      .catch((error: Error) => error);
  });
  afterAll(async () => db?.close());

  it("is removed, or the DataSource was refused at initialize()", async () => {
    if (changedRows instanceof Error) {
      expect(changedRows.name).toBe("TypeOrmCompatibilityError");
      return;
    }
    const dataSource = changedRows;
    const orders = dataSource.getRepository(Order);
    const { id } = await orders.save(orders.create({ customer: "ada", lines: [{ product: "tea", quantity: 1, notes: [] }] }));
    const outcome = await withOptimisticRetry(
      async (manager) => {
        const order = await manager.findOneOrFail(Order, { where: { id }, relations: { lines: true } });
        await manager.remove(order);
      },
      { dataSource, retries: 2 },
    ).then(
      () => "removed",
      (error: Error) => `${error.name}: ${error.message}`,
    );
    expect(outcome).toBe("removed");
    expect(await orders.countBy({ id })).toBe(0);
  });
});
