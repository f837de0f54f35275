import type { DataSource, EntityManager } from "typeorm";
import { isDeadlock, isLockWaitTimeout, isRetryableConflict, withOptimisticRetry } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { eachDriver } from "../support/each-driver";
import { OccCounter, coreEntities } from "../support/entities/core";

// SQLite locks the whole file, never single rows: it has neither deadlocks nor row-lock waits, and
// its "database is locked" is SQLITE_BUSY (isSqliteBusy, tested in with-optimistic-retry.test.ts).
eachDriver((driver) => driver !== "sqlite", { mariadb: true })("withOptimisticRetry and row locks on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: coreEntities });
  });
  afterAll(async () => db?.close());

  const counters = (source: DataSource = db.dataSource) => source.getRepository(OccCounter);

  it("retries the transaction the database rolled back to break a deadlock (PostgreSQL 40P01, MariaDB 1213)", async () => {
    const [a, b] = await counters().save([{ value: 0 }, { value: 0 }]);
    let bothLocked!: () => void;
    const barrier = new Promise<void>((resolve) => (bothLocked = resolve));
    let locked = 0;
    const retried: unknown[] = [];
    const saveBoth = (first: number, second: number) =>
      withOptimisticRetry(
        async (manager: EntityManager, attempt) => {
          const [x, y] = [
            await manager.findOneByOrFail(OccCounter, { id: first }),
            await manager.findOneByOrFail(OccCounter, { id: second }),
          ];
          x.value += 1;
          y.value += 1;
          await manager.save(x); // locks the first row
          if (attempt === 0 && ++locked === 2) bothLocked();
          if (attempt === 0) await barrier; // each holds its first row: now both reach for the other's
          await manager.save(y);
        },
        { dataSource: db.dataSource, onRetry: (error) => retried.push(error) },
      );
    await Promise.all([saveBoth(a.id, b.id), saveBoth(b.id, a.id)]);
    // One of the two was the deadlock's victim; its retry may also meet the winner's commit (StaleDataError).
    expect(retried.filter(isDeadlock)).toHaveLength(1);
    expect(retried.every(isRetryableConflict)).toBe(true);
    expect(await counters().findBy([{ id: a.id }, { id: b.id }])).toEqual([
      { id: a.id, value: 2, version: 3 },
      { id: b.id, value: 2, version: 3 },
    ]);
  });

  it("retries a statement refused after waiting too long for a row lock (PostgreSQL 55P03, MariaDB 1205)", async () => {
    const { id } = await counters().save({ value: 0 });
    // The holder: another connection with an uncommitted change to the row.
    const holderSource = await db.open();
    const holder = holderSource.createQueryRunner();
    await holder.startTransaction();
    const held = await holder.manager.findOneByOrFail(OccCounter, { id });
    held.value += 100;
    await holder.manager.save(held);

    // A session setting of MariaDB's stays on the pooled connection: give the waiter a pool of its own.
    const waiterSource = await db.open();
    const retried: unknown[] = [];
    let released: Promise<void> | undefined;
    const value = await withOptimisticRetry(
      async (manager, attempt) => {
        if (attempt === 1) await released;
        await manager.query(driver === "postgres" ? "SET LOCAL lock_timeout = '200ms'" : "SET SESSION innodb_lock_wait_timeout = 1");
        const counter = await manager.findOneByOrFail(OccCounter, { id });
        counter.value += 1;
        await manager.save(counter); // attempt 0 waits for the holder's lock and gives up
        return counter.value;
      },
      {
        dataSource: waiterSource,
        onRetry: (error, attempt) => {
          retried.push(error);
          if (attempt === 1) released = holder.commitTransaction().then(() => holder.release());
        },
      },
    );
    await waiterSource.destroy();
    await holderSource.destroy();

    expect(isLockWaitTimeout(retried[0])).toBe(true);
    expect(retried.every(isRetryableConflict)).toBe(true);
    expect(value).toBe(101);
    expect(await counters().findOneByOrFail({ id })).toEqual({ id, value: 101, version: 3 });
  });
});
