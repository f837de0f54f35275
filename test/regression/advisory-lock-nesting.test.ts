import type { DataSource } from "typeorm";
import { LockTimeoutError, UnguardedWriteError, withAdvisoryLock, withOptimisticRetry } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { eachDriver } from "../support/each-driver";
import { ShoppingCart, writeEntities } from "../writes/support/entities";

/** Fails instead of hanging: the bug this file pins was a wait that never ended. */
function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms)));
  return Promise.race([work, hang]).finally(() => clearTimeout(timer));
}

/**
 * Issue 14, section 3:
 * - `withAdvisoryLock(ds, k, () => withAdvisoryLock(ds, k, …))` hung forever on PostgreSQL and
 *   MariaDB: the inner call took a second pooled connection and waited for its own caller's lock.
 *   A nested call (same async context) now joins the outer call's transaction in a savepoint: the
 *   same key is re-entrant, another key is taken on the same connection and held to the end.
 * - inside a caller's transaction the call opened a transaction of its own, whose work survived
 *   the caller's rollback on PostgreSQL and MariaDB and joined it on SQLite. It is now refused on
 *   all three, before anything is sent, saying to take the lock first.
 */
eachDriver(undefined, { mariadb: true })("nested withAdvisoryLock and withAdvisoryLock in a caller's transaction on %s", (driver) => {
  let db: TestDatabase;
  let otherSource: DataSource;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: writeEntities });
    otherSource = await db.open(driver === "sqlite" ? ({ timeout: 100 } as never) : {});
  });
  afterAll(async () => db?.close());

  const carts = () => db.dataSource.getRepository(ShoppingCart);
  const open = (manager: { save: DataSource["manager"]["save"]; create: DataSource["manager"]["create"] }, customer: string) =>
    manager.save(manager.create(ShoppingCart, { customer, status: "open" }));
  /** Whether another connection can take `key` right now. */
  const freeElsewhere = (key: string) =>
    withAdvisoryLock(otherSource, key, async () => true, { nowait: true }).catch((error: unknown) => {
      if (error instanceof LockTimeoutError) return false;
      throw error;
    });

  it("reproduction: the same key nested is re-entrant: no hang, one transaction, both writes committed", async () => {
    const result = await within(
      5000,
      withAdvisoryLock(db.dataSource, "cart:nested", async (outer) => {
        await open(outer, "nested-outer");
        return withAdvisoryLock(db.dataSource, "cart:nested", async (inner) => {
          expect(inner.queryRunner).toBe(outer.queryRunner);
          expect(await inner.countBy(ShoppingCart, { customer: "nested-outer" })).toBe(1); // the outer's uncommitted write
          await open(inner, "nested-inner");
          return withAdvisoryLock(db.dataSource, "cart:nested", async () => "three deep", { nowait: true });
        });
      }),
    );
    expect(result).toBe("three deep");
    expect(await carts().countBy({ customer: "nested-outer" })).toBe(1);
    expect(await carts().countBy({ customer: "nested-inner" })).toBe(1);
    expect(await freeElsewhere("cart:nested")).toBe(true);
  });

  it("nested different keys keep working: the inner key is held until the outer transaction ends", async () => {
    await within(
      10000,
      withAdvisoryLock(db.dataSource, "cart:a", async (outer) => {
        await withAdvisoryLock(db.dataSource, "cart:b", async (inner) => {
          expect(inner.queryRunner).toBe(outer.queryRunner);
          await open(inner, "keys-inner");
        });
        expect(await freeElsewhere("cart:b")).toBe(false);
        expect(await freeElsewhere("cart:a")).toBe(false);
      }),
    );
    expect(await freeElsewhere("cart:a")).toBe(true);
    expect(await freeElsewhere("cart:b")).toBe(true);
    expect(await carts().countBy({ customer: "keys-inner" })).toBe(1);
  });

  it("a nested call that fails undoes only its own work; the outer's rollback undoes the nested call's", async () => {
    await withAdvisoryLock(db.dataSource, "cart:outer", async (outer) => {
      await open(outer, "kept");
      const error = await withAdvisoryLock(db.dataSource, "cart:inner", async (inner) => {
        await open(inner, "undone-inner");
        throw new Error("inner failed");
      }).catch((e: unknown) => e);
      expect((error as Error).message).toBe("inner failed");
    });
    expect(await carts().countBy({ customer: "kept" })).toBe(1);
    expect(await carts().countBy({ customer: "undone-inner" })).toBe(0);

    const error = await withAdvisoryLock(db.dataSource, "cart:outer", async () => {
      await withAdvisoryLock(db.dataSource, "cart:inner", (inner) => open(inner, "undone-with-outer"));
      throw new Error("outer failed");
    }).catch((e: unknown) => e);
    expect((error as Error).message).toBe("outer failed");
    expect(await carts().countBy({ customer: "undone-with-outer" })).toBe(0);
    expect(await freeElsewhere("cart:inner")).toBe(true);
  });

  it("reproduction: inside a caller's transaction it is refused before anything is sent, and the caller's rollback leaves nothing", async () => {
    let ran = false;
    let statements: string[] = [];
    const error = await db.dataSource
      .transaction(async (manager) => {
        await open(manager, "caller");
        statements = await db.log.capture(async () => {
          const refused = await withAdvisoryLock(db.dataSource, "cart:in-caller", async (lockManager) => {
            ran = true;
            await open(lockManager, "in-caller");
          }).catch((e: unknown) => e);
          expect(refused).toBeInstanceOf(UnguardedWriteError);
          expect((refused as Error).message).toMatch(/inside a transaction of the caller's.*Call withAdvisoryLock first/);
        });
        throw new Error("caller rolls back");
      })
      .catch((e: unknown) => e);
    expect((error as Error).message).toBe("caller rolls back");
    expect(ran).toBe(false);
    expect(statements).toEqual([]);
    expect(await carts().countBy({ customer: "caller" })).toBe(0);
    expect(await carts().countBy({ customer: "in-caller" })).toBe(0);
    expect(await freeElsewhere("cart:in-caller")).toBe(true);
  });

  it("is refused inside withOptimisticRetry({ dataSource }), and inside a transaction on another connection opened within fn", async () => {
    const retried = await withOptimisticRetry(() => withAdvisoryLock(db.dataSource, "cart:retry", async () => "ran"), {
      dataSource: db.dataSource,
    }).catch((e: unknown) => e);
    expect(retried).toBeInstanceOf(UnguardedWriteError);
    const inner = await within(
      5000,
      withAdvisoryLock(db.dataSource, "cart:outer2", () =>
        db.dataSource.transaction(() => withAdvisoryLock(db.dataSource, "cart:outer2", async () => "ran")),
      ).catch((e: unknown) => e),
    );
    // SQLite's one connection makes that transaction() a savepoint of the outer one: the call is nested, and joins.
    if (driver === "sqlite") expect(inner).toBe("ran");
    else expect(inner).toBeInstanceOf(UnguardedWriteError);
  });
});
