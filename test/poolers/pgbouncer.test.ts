import { Column, Entity, Index, ManyToOne, MoreThanOrEqual, OneToMany, PrimaryGeneratedColumn, type DataSource } from "typeorm";
import {
  AggregateRoot,
  LockTimeoutError,
  StaleDataError,
  VersionColumn,
  decrement,
  insertOnce,
  lockAggregate,
  updateIf,
  withAdvisoryLock,
  withOptimisticRetry,
} from "typeorm-occ";
import { createReplicatedDatabase, describeWithPgBouncer, type ReplicatedDatabase } from "../support/replicas";

@Entity()
class PooledAccount {
  @PrimaryGeneratedColumn() id!: number;
  @Column("integer") balance!: number;
  @VersionColumn() version!: number;
}

@AggregateRoot()
@Entity()
class PooledOrder {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") customer!: string;
  @VersionColumn() version!: number;
  @OneToMany(() => PooledOrderLine, (line) => line.order, { cascade: true })
  lines!: PooledOrderLine[];
}

@Entity()
class PooledOrderLine {
  @PrimaryGeneratedColumn() id!: number;
  @Column("integer") quantity!: number;
  @ManyToOne(() => PooledOrder, (order) => order.lines, { onDelete: "CASCADE" })
  order!: PooledOrder;
}

@Entity()
@Index(["requestKey"], { unique: true })
class PooledRequest {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") requestKey!: string;
  @Column("integer") worker!: number;
}

const ENTITIES = [PooledAccount, PooledOrder, PooledOrderLine, PooledRequest];
const WORKERS = 8;
type Route = "PgBouncer, transaction mode" | "PgBouncer, session mode" | "direct";

/**
 * Everything typeorm-occ promises, through a real PgBouncer. In transaction mode each transaction
 * (and each statement outside one) may run on another server connection, so nothing may rely on
 * session state: no session advisory locks, no session `SET`, no named prepared statements. Session
 * mode and direct connections must keep working the same. Each worker has a DataSource of its own.
 */
describeWithPgBouncer("through PgBouncer", () => {
  let db: ReplicatedDatabase;
  beforeAll(async () => {
    db = await createReplicatedDatabase(ENTITIES);
  });
  afterAll(async () => db?.close());

  describe.each<Route>(["PgBouncer, transaction mode", "PgBouncer, session mode", "direct"])("%s", (route) => {
    let workers: DataSource[];
    let main: DataSource;
    beforeAll(async () => {
      const open = () =>
        route === "direct"
          ? db.open({ replication: undefined, url: db.primaryUrl, poolSize: 2 } as never)
          : db.openThroughPgBouncer(route === "PgBouncer, session mode" ? "session" : "transaction", { poolSize: 2 });
      workers = await Promise.all(Array.from({ length: WORKERS }, open));
      main = workers[0];
    });
    afterAll(async () => Promise.all(workers.map((source) => source.destroy())));

    it("checked saves: a stale copy is refused, and concurrent retried increments lose nothing", async () => {
      const accounts = main.getRepository(PooledAccount);
      const { id } = await accounts.save({ balance: 0 });
      const stale = await accounts.findOneByOrFail({ id });
      await accounts.save({ ...(await accounts.findOneByOrFail({ id })), balance: 1 });
      await expect(accounts.save({ ...stale, balance: 2 })).rejects.toBeInstanceOf(StaleDataError);
      await Promise.all(
        workers.map(async (source) => {
          for (let n = 0; n < 10; n++) {
            await withOptimisticRetry(
              async (manager) => {
                const account = await manager.findOneByOrFail(PooledAccount, { id });
                account.balance += 1;
                await manager.save(account);
              },
              // The pooler is under test here, not the default time budget: a loaded CI machine must not fail it.
              { dataSource: source, timeBudgetMs: 60_000 },
            );
          }
        }),
      );
      expect(await accounts.findOneByOrFail({ id })).toMatchObject({ balance: 1 + WORKERS * 10, version: 2 + WORKERS * 10 });
    });

    it("aggregates: two editors of different lines of one order, one wins, the other gets StaleDataError", async () => {
      const orders = main.getRepository(PooledOrder);
      const { id } = await orders.save(orders.create({ customer: "ada", lines: [{ quantity: 1 }, { quantity: 1 }] }));
      const load = (source: DataSource) =>
        source.getRepository(PooledOrder).findOneOrFail({ where: { id }, relations: { lines: true }, order: { lines: { id: "ASC" } } });
      const [alice, bob] = await Promise.all([load(workers[1]), load(workers[2])]);
      alice.lines[0].quantity = 2;
      bob.lines[1].quantity = 5;
      const results = await Promise.allSettled([
        workers[1].getRepository(PooledOrder).save(alice),
        workers[2].getRepository(PooledOrder).save(bob),
      ]);
      expect(results.filter((result) => result.status === "fulfilled")).toHaveLength(1);
      expect(results.find((result) => result.status === "rejected")).toMatchObject({ reason: expect.any(StaleDataError) });
      expect((await load(main)).version).toBe(2);
    });

    it("updateIf: of 10 concurrent withdrawals of 100 from 200, exactly 2 win (5 rounds)", async () => {
      for (let round = 0; round < 5; round++) {
        const { id } = await main.getRepository(PooledAccount).save({ balance: 200 });
        const results = await Promise.allSettled(
          Array.from({ length: 10 }, (_, n) =>
            updateIf(workers[n % WORKERS].getRepository(PooledAccount), { id, balance: MoreThanOrEqual(100) }, { balance: decrement(100) }),
          ),
        );
        expect(results.filter((result) => result.status === "fulfilled")).toHaveLength(2);
        expect(await main.getRepository(PooledAccount).findOneByOrFail({ id })).toMatchObject({ balance: 0, version: 3 });
      }
    });

    it("insertOnce: of 12 concurrent inserts per key, exactly 1 creates the row (5 keys)", async () => {
      for (let key = 0; key < 5; key++) {
        const requestKey = `${route}:${key}`;
        const results = await Promise.all(
          Array.from({ length: 12 }, (_, worker) =>
            insertOnce(workers[worker % WORKERS].getRepository(PooledRequest), { requestKey, worker }, { conflictPaths: ["requestKey"] }),
          ),
        );
        expect(results.filter((result) => result.created)).toHaveLength(1);
        expect(new Set(results.map((result) => result.entity.id)).size).toBe(1);
      }
    });

    it("lockAggregate: a second locker waits, times out with LockTimeoutError, and lock_timeout never leaks to other pooled connections", async () => {
      const { id } = await main.getRepository(PooledOrder).save({ customer: "bo", lines: [{ quantity: 1 }] });
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let locked!: () => void;
      const isLocked = new Promise<void>((resolve) => (locked = resolve));
      const holder = workers[1].transaction(async (manager) => {
        await lockAggregate(manager, PooledOrder, id);
        locked();
        await held;
      });
      await isLocked;
      await expect(workers[2].transaction((manager) => lockAggregate(manager, PooledOrder, id, { timeoutMs: 100 }))).rejects.toBeInstanceOf(
        LockTimeoutError,
      );
      await expect(workers[3].transaction((manager) => lockAggregate(manager, PooledOrder, id, { nowait: true }))).rejects.toBeInstanceOf(
        LockTimeoutError,
      );
      release();
      await holder;
      // Many at once, so they spread over the pooler's server connections.
      const settings = await Promise.all(
        workers.flatMap((source) =>
          [0, 1].map(() => source.transaction((manager) => manager.query("SHOW lock_timeout") as Promise<Array<{ lock_timeout: string }>>)),
        ),
      );
      expect(new Set(settings.map(([row]) => row.lock_timeout))).toEqual(new Set(["0"]));
      const order = await workers[4].transaction((manager) => lockAggregate(manager, PooledOrder, id, { timeoutMs: 1000 }));
      expect(order).toMatchObject({ id, lines: [{ quantity: 1 }] });
    });

    it(`withAdvisoryLock: ${WORKERS} workers × 10 read-then-write increments, no two holders at once, none lost`, async () => {
      const { id } = await main.getRepository(PooledAccount).save({ balance: 0 });
      let holders = 0;
      let overlaps = 0;
      await Promise.all(
        workers.map(async (source) => {
          for (let n = 0; n < 10; n++) {
            await withAdvisoryLock(source, `pooled:${route}:${id}`, async (manager) => {
              if (++holders > 1) overlaps++;
              const account = await manager.findOneByOrFail(PooledAccount, { id });
              await manager.query("SELECT pg_sleep(0.001)");
              await manager.update(PooledAccount, { id }, { balance: account.balance + 1 }).catch(async () => {
                account.balance += 1;
                await manager.save(account);
              });
              holders--;
            });
          }
        }),
      );
      expect(overlaps).toBe(0);
      expect(await main.getRepository(PooledAccount).findOneByOrFail({ id })).toMatchObject({ balance: WORKERS * 10 });
    });

    it("no named prepared statements are left on any server connection", async () => {
      // Every worker's connections in transactions at once: each holds a server connection of its own.
      let arrived = 0;
      let allArrived!: () => void;
      const together = new Promise<void>((resolve) => (allArrived = resolve));
      const counts = await Promise.all(
        workers.flatMap((source) =>
          [0, 1].map(() =>
            source.transaction(async (manager) => {
              const [{ count }] = (await manager.query("SELECT count(*)::int AS count FROM pg_prepared_statements")) as Array<{
                count: number;
              }>;
              if (++arrived === workers.length * 2) allArrived();
              await together;
              return count;
            }),
          ),
        ),
      );
      expect(counts).toEqual(counts.map(() => 0));
    });
  });
});
