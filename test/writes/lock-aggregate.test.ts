import type { DataSource, EntityManager, QueryRunner } from "typeorm";
import { LockTimeoutError, TransactionRequiredError, InvalidArgumentError, UnguardedWriteError, lockAggregate } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { eachDriver } from "../support/each-driver";
import { StockItem } from "../support/entities/core";
import { Order, OrderLine } from "../support/entities/aggregate";
import { Account, writeEntities } from "./support/entities";
import { startRacers, type Racers } from "./support/racers";

eachDriver(undefined, { mariadb: true })("lockAggregate on %s", (driver) => {
  let db: TestDatabase;
  let holderSource: DataSource;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: [...writeEntities, StockItem] });
    // Another connection (another process, as far as the database can tell) that holds locks.
    holderSource = await db.open(driver === "sqlite" ? ({ timeout: 100 } as never) : {});
  });
  afterAll(async () => db?.close());

  const orders = () => db.dataSource.getRepository(Order);
  const newOrder = () =>
    orders().save(
      orders().create({
        customer: "ada",
        lines: [
          { product: "tea", quantity: 1, notes: [{ text: "green" }] },
          { product: "cake", quantity: 1, notes: [] },
        ],
      }),
    );

  /** Holds the order's lock from the other connection until `release` is called. */
  async function holdLock(id: number): Promise<{ release: () => Promise<void> }> {
    const runner: QueryRunner = holderSource.createQueryRunner();
    await runner.startTransaction();
    expect(await lockAggregate(runner.manager, Order, id)).not.toBeNull();
    return {
      release: async () => {
        await runner.rollbackTransaction();
        await runner.release();
      },
    };
  }

  it("locks the root row, then loads the root with its members, recursively", async () => {
    const { id } = await newOrder();
    let order!: Order | null;
    const statements = await db.log.capture(() =>
      db.dataSource.transaction(async (manager) => {
        order = await lockAggregate(manager, Order, id);
      }),
    );
    expect(order).toBeInstanceOf(Order);
    expect(order!.lines.map((line) => line.product).sort()).toEqual(["cake", "tea"]);
    expect(order!.lines.find((line) => line.product === "tea")!.notes).toEqual([expect.objectContaining({ text: "green" })]);
    const work = statements.filter((statement) => !/^(START TRANSACTION|BEGIN|COMMIT)/.test(statement));
    expect(work).toHaveLength(2);
    if (driver === "sqlite") expect(work[0]).toMatch(/^UPDATE "order" SET "id" = "id" WHERE 1 = 0$/);
    else expect(work[0]).toMatch(/^SELECT .* FOR UPDATE$/);
    expect(work[1]).toMatch(/^SELECT .*JOIN/);
    expect(work[1]).not.toMatch(/FOR UPDATE|LOCK IN SHARE MODE/); // members are never locked row by row
  });

  it("accepts the primary key as an object, locks entities outside any aggregate, and resolves null for a missing root", async () => {
    const { id } = await newOrder();
    const account = await db.dataSource.getRepository(Account).save({ owner: "x", balance: 1 });
    await db.dataSource.transaction(async (manager) => {
      expect(await lockAggregate(manager, Order, { id })).toMatchObject({ id, customer: "ada" });
      expect(await lockAggregate(manager, Account, account.id)).toMatchObject({ id: account.id, balance: 1 });
      expect(await lockAggregate(manager, Order, 987654)).toBeNull();
      expect(await lockAggregate(manager, StockItem, { tenant: "t", sku: 1 })).toBeNull();
    });
  });

  it("refuses to lock outside a transaction, sending nothing", async () => {
    const { id } = await newOrder();
    const idle = db.dataSource.createQueryRunner();
    try {
      for (const manager of [db.dataSource.manager, idle.manager] as EntityManager[]) {
        db.log.clear();
        const error = await lockAggregate(manager, Order, id).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(TransactionRequiredError);
        expect(error).toMatchObject({ name: "TransactionRequiredError", entityName: "Order" });
        expect(db.log.queries).toEqual([]);
      }
    } finally {
      await idle.release();
    }
  });

  describe("bad input: a typed error, nothing sent", () => {
    const cases: Array<[string, (manager: EntityManager) => Promise<unknown>]> = [
      ["an undefined key", (m) => lockAggregate(m, Order, undefined as never)],
      ["a null key", (m) => lockAggregate(m, Order, null as never)],
      ["NaN", (m) => lockAggregate(m, Order, Number.NaN)],
      ["an object key without the primary column", (m) => lockAggregate(m, Order, { customer: "ada" })],
      ["an object key with more than the primary key", (m) => lockAggregate(m, Order, { id: 1, customer: "ada" })],
      ["a bare value for a composite key", (m) => lockAggregate(m, StockItem, 1)],
      ["a member of an aggregate", (m) => lockAggregate(m, OrderLine, 1)],
      ["nowait that is not a boolean", (m) => lockAggregate(m, Order, 1, { nowait: "yes" as never })],
      ["a negative timeout", (m) => lockAggregate(m, Order, 1, { timeoutMs: -1 })],
      ["a zero timeout", (m) => lockAggregate(m, Order, 1, { timeoutMs: 0 })],
      ["a fractional timeout", (m) => lockAggregate(m, Order, 1, { timeoutMs: 1.5 })],
      ["both nowait and a timeout", (m) => lockAggregate(m, Order, 1, { nowait: true, timeoutMs: 100 })],
      ["an unknown option", (m) => lockAggregate(m, Order, 1, { timeout: 100 } as never)],
    ];

    /** Writes the library cannot guard; every other case is an argument mistake (InvalidArgumentError). */
    const refusedAsUnguarded = new Set<string>(["a member of an aggregate"]);

    it.each(cases)("refuses %s", async (_label, attempt) => {
      await db.dataSource
        .transaction(async (manager) => {
          db.log.clear();
          const error = await attempt(manager).catch((e: unknown) => e);
          const expected = refusedAsUnguarded.has(_label) ? UnguardedWriteError : InvalidArgumentError;
          expect(error).toBeInstanceOf(expected);
          expect(error).toMatchObject({ name: expected.name, operation: "lockAggregate" });
          expect(db.log.queries).toEqual([]);
        })
        .catch((error: unknown) => {
          throw error;
        });
    });
  });

  describe("when another transaction holds the lock", () => {
    it("fails at once with nowait, as LockTimeoutError", async () => {
      const { id } = await newOrder();
      const held = await holdLock(id);
      try {
        const error = await db.dataSource
          .transaction((manager) => lockAggregate(manager, Order, id, { nowait: true }))
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(LockTimeoutError);
        expect(error).toMatchObject({ name: "LockTimeoutError", lockName: `Order#${id}`, timeoutMs: 0 });
        expect((error as Error).message).toBe(`Order#${id}: lock not acquired (nowait): another transaction holds it`);
      } finally {
        await held.release();
      }
    });

    it("gives up after timeoutMs with LockTimeoutError, and restores the session's own limit", async () => {
      const { id } = await newOrder();
      const held = await holdLock(id);
      try {
        const started = Date.now();
        const error = await db.dataSource
          .transaction(async (manager) => {
            const before = await waitSetting(manager);
            const failure = await lockAggregate(manager, Order, id, { timeoutMs: 300 }).catch((e: unknown) => e);
            // PostgreSQL aborts the transaction on the failed statement; the others can still be asked.
            if (driver !== "postgres") expect(await waitSetting(manager)).toEqual(before);
            throw failure;
          })
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(LockTimeoutError);
        expect(error).toMatchObject({ timeoutMs: 300 });
        expect(Date.now() - started).toBeLessThan(10_000); // never a hang
      } finally {
        await held.release();
      }
    });

    it("reports the database's own lock wait limit running out as LockTimeoutError too", async () => {
      const { id } = await newOrder();
      const held = await holdLock(id);
      const [limit, restore] =
        driver === "postgres"
          ? ["SET LOCAL lock_timeout = '200ms'", undefined]
          : driver === "mariadb"
            ? ["SET SESSION innodb_lock_wait_timeout = 1", "SET SESSION innodb_lock_wait_timeout = 50"]
            : ["PRAGMA busy_timeout = 200", "PRAGMA busy_timeout = 10000"];
      try {
        const error = await db.dataSource
          .transaction(async (manager) => {
            const before = await waitSetting(manager);
            await manager.query(limit);
            const failure = await lockAggregate(manager, Order, id).catch((e: unknown) => e);
            if (restore) await manager.query(restore);
            if (restore) expect(await waitSetting(manager)).toEqual(before);
            throw failure;
          })
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(LockTimeoutError);
        expect(error).toMatchObject({ timeoutMs: null });
        expect((error as Error).message).toBe(
          `Order#${id}: lock not acquired within the database's lock wait limit: another transaction holds it`,
        );
      } finally {
        await held.release();
      }
    });

    it("takes the lock once it is released within the timeout, and leaves the session's limit as it was", async () => {
      const { id } = await newOrder();
      const held = await holdLock(id);
      if (driver === "sqlite")
        await held.release(); // one process: the holder could not release while SQLite's busy wait blocks it
      else setTimeout(() => void held.release(), 200);
      await db.dataSource.transaction(async (manager) => {
        const before = await waitSetting(manager);
        expect(await lockAggregate(manager, Order, id, { timeoutMs: 5000 })).toMatchObject({ id });
        expect(await waitSetting(manager)).toEqual(before);
      });
    });
  });

  describe("N workers: lock, change a line, save", () => {
    let racers: Racers;
    beforeAll(async () => {
      racers = await startRacers(db);
    });
    afterAll(async () => racers?.stop());

    it("never meet a StaleDataError, lose no change, and move the root's version once each", async () => {
      for (let round = 0; round < 3; round++) {
        const order = await newOrder();
        const line = order.lines.find((candidate) => candidate.product === "tea")!;
        const outcomes = await racers.run("lockAndIncrementMany", order.id, line.id, 4);
        expect(outcomes.filter((outcome) => !outcome.ok)).toEqual([]);
        expect(outcomes).toHaveLength(8);
        const stored = await orders().findOneOrFail({ where: { id: order.id }, relations: { lines: true } });
        expect(stored.version).toBe(1 + 8);
        expect(stored.lines.find((candidate) => candidate.id === line.id)!.quantity).toBe(1 + 8);
        // Each worker saw the version its predecessor wrote: 2, 3, …, 9 exactly once.
        expect(outcomes.map((outcome) => outcome.value as number).sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
      }
    });
  });

  /** The lock-wait limit of the transaction's session, in the database's own terms. */
  async function waitSetting(manager: EntityManager): Promise<unknown> {
    if (driver === "postgres") return manager.query("SELECT current_setting('lock_timeout') AS value");
    if (driver === "mariadb") return manager.query("SELECT @@SESSION.innodb_lock_wait_timeout AS value");
    return manager.query("PRAGMA busy_timeout");
  }
});
