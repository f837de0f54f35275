import type { EntityManager } from "typeorm";
import { isDeadlock, withOptimisticRetry } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { eachDriver } from "../support/each-driver";
import { OccCounter, coreEntities } from "../support/entities/core";

eachDriver((driver) => driver === "postgres")("withOptimisticRetry and a real deadlock on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: coreEntities });
  });
  afterAll(async () => db?.close());

  it("retries the transaction PostgreSQL rolled back to break a deadlock (40P01)", async () => {
    const [a, b] = await db.dataSource.getRepository(OccCounter).save([{ value: 0 }, { value: 0 }]);
    let bothLocked!: () => void;
    const barrier = new Promise<void>((resolve) => (bothLocked = resolve));
    let locked = 0;
    const deadlocks: unknown[] = [];
    const lockBoth = (first: number, second: number) =>
      withOptimisticRetry(
        async (manager: EntityManager, attempt) => {
          await manager.query(`UPDATE occ_counter SET value = value + 1 WHERE id = $1`, [first]);
          if (attempt === 0 && ++locked === 2) bothLocked();
          if (attempt === 0) await barrier; // each holds its first row: now both reach for the other's
          await manager.query(`UPDATE occ_counter SET value = value + 1 WHERE id = $1`, [second]);
        },
        { dataSource: db.dataSource, onRetry: (error) => deadlocks.push(error) },
      );
    await Promise.all([lockBoth(a.id, b.id), lockBoth(b.id, a.id)]);
    expect(deadlocks).toHaveLength(1);
    expect(isDeadlock(deadlocks[0])).toBe(true);
    const rows = await db.dataSource.getRepository(OccCounter).findBy([{ id: a.id }, { id: b.id }]);
    expect(rows.map((row) => row.value)).toEqual([2, 2]);
  });
});
