import { Column, Entity, PrimaryGeneratedColumn, type DataSource } from "typeorm";
import { VersionColumn, lockAggregate, readFromPrimary, withAdvisoryLock, withOptimisticRetry } from "typeorm-occ";
import { createReplicatedDatabase, describeWithReplicas, type ReplicatedDatabase } from "../support/replicas";

@Entity()
class RoutedCounter {
  @PrimaryGeneratedColumn() id!: number;
  @Column("integer") value!: number;
  @VersionColumn() version!: number;
}

/**
 * Where TypeORM sends a read without a query runner of its own, asked of the server itself: the
 * replica answers `pg_is_in_recovery()` with true, the primary with false. Deterministic, whatever
 * the replica's lag.
 */
async function readsReplica(dataSource: DataSource): Promise<boolean> {
  const row = await dataSource
    .createQueryBuilder()
    .select("pg_is_in_recovery()", "replica")
    .from("pg_database", "d")
    .where("d.datname = current_database()")
    .getRawOne<{ replica: boolean }>();
  return row!.replica;
}

describeWithReplicas("reads on a replicated DataSource", () => {
  let db: ReplicatedDatabase;
  beforeAll(async () => {
    db = await createReplicatedDatabase([RoutedCounter]);
  });
  afterAll(async () => db?.close());

  it("outside typeorm-occ's scopes a read goes where TypeORM sends it: a replica", async () => {
    expect(await readsReplica(db.dataSource)).toBe(true);
    expect(await db.dataSource.transaction((manager) => manager.query("SELECT pg_is_in_recovery() AS replica"))).toEqual([
      { replica: false },
    ]);
    // README says so: inside a transaction of your own, only its manager reads the primary.
    expect(await db.dataSource.transaction(() => readsReplica(db.dataSource))).toBe(true);
  });

  it("readFromPrimary sends them to the primary, across awaits, timers and parallel reads; its end restores TypeORM's routing", async () => {
    await readFromPrimary(async () => {
      expect(await readsReplica(db.dataSource)).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect(await Promise.all([readsReplica(db.dataSource), readsReplica(db.dataSource)])).toEqual([false, false]);
    });
    expect(await readsReplica(db.dataSource)).toBe(true);
  });

  it("concurrent callers inside and outside the scope each keep their own routing", async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        n % 2 === 0 ? readFromPrimary(() => readsReplica(db.dataSource)) : readsReplica(db.dataSource),
      ),
    );
    expect(results).toEqual(Array.from({ length: 20 }, (_, n) => n % 2 === 1));
  });

  it("withOptimisticRetry: every attempt reads the primary, through its manager, a global repository, with or without dataSource", async () => {
    const seen: boolean[] = [];
    await withOptimisticRetry(async () => {
      seen.push(await readsReplica(db.dataSource));
    });
    await withOptimisticRetry(
      async (manager, attempt) => {
        seen.push(await readsReplica(db.dataSource));
        seen.push((await manager.query("SELECT pg_is_in_recovery() AS r"))[0].r);
        if (attempt === 0) throw Object.assign(new Error("conflict"), { code: "40001" });
      },
      { dataSource: db.dataSource },
    );
    expect(seen).toEqual([false, false, false, false, false]);
  });

  it("withAdvisoryLock's callback and lockAggregate's transaction read the primary", async () => {
    const { id } = await db.dataSource.getRepository(RoutedCounter).save({ value: 0 });
    expect(await withAdvisoryLock(db.dataSource, "routing", () => readsReplica(db.dataSource))).toBe(false);
    const locked = await db.dataSource.transaction(async (manager) => {
      const row = await lockAggregate(manager, RoutedCounter, id);
      return {
        row,
        replica: await manager.createQueryBuilder().select("pg_is_in_recovery()", "r").from("pg_database", "d").limit(1).getRawOne(),
      };
    });
    // The row was inserted a moment ago: with the replica behind, only the primary has it.
    expect(locked.row).toMatchObject({ id, value: 0, version: 1 });
    expect(locked.replica).toEqual({ r: false });
  });
});
