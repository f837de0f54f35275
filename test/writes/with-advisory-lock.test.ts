import type { DataSource } from "typeorm";
import { LockTimeoutError, InvalidArgumentError, UnguardedWriteError, withAdvisoryLock } from "typeorm-occ";
import { advisoryLockId } from "../../src/writes/advisory-key";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { eachDriver } from "../support/each-driver";
import { ShoppingCart, writeEntities } from "./support/entities";
import { startRacers, type Racers } from "./support/racers";

eachDriver(undefined, { mariadb: true })("withAdvisoryLock on %s", (driver) => {
  let db: TestDatabase;
  let holderSource: DataSource;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: writeEntities });
    holderSource = await db.open(driver === "sqlite" ? ({ timeout: 100 } as never) : {});
  });
  afterAll(async () => db?.close());

  const carts = () => db.dataSource.getRepository(ShoppingCart);

  /** Runs withAdvisoryLock on the other connection and keeps it (and the lock) open until released. */
  async function holdLock(key: string | number): Promise<{ release: () => Promise<void> }> {
    let release!: () => void;
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const done = withAdvisoryLock(holderSource, key, async () => {
      locked();
      await new Promise<void>((resolve) => (release = resolve));
    });
    await isLocked;
    return {
      release: async () => {
        release();
        await done;
      },
    };
  }

  it("runs fn in a transaction that holds the lock, and resolves to its result", async () => {
    let result: unknown;
    const statements = await db.log.capture(async () => {
      result = await withAdvisoryLock(db.dataSource, "cart:first", async (manager) => {
        expect(manager.queryRunner?.isTransactionActive).toBe(true);
        await manager.save(manager.create(ShoppingCart, { customer: "first", status: "open" }));
        return "done";
      });
    });
    expect(result).toBe("done");
    const first = statements.findIndex((statement) => /pg_advisory_xact_lock|GET_LOCK|WHERE 1 = 0/.test(statement));
    const insert = statements.findIndex((statement) => /^INSERT/.test(statement));
    expect(first).toBeGreaterThanOrEqual(0);
    expect(first).toBeLessThan(insert);
    if (driver === "postgres") expect(statements.slice(0, 2)).toEqual(["START TRANSACTION", "SELECT pg_advisory_xact_lock($1::bigint)"]);
    if (driver === "mariadb") {
      expect(statements[0]).toBe("SELECT GET_LOCK(?, ?) AS acquired");
      expect(statements.at(-1)).toBe("SELECT RELEASE_LOCK(?)");
      expect(statements.at(-2)).toBe("COMMIT"); // released after the commit, never before
    }
    expect(await carts().countBy({ customer: "first" })).toBe(1);
  });

  it("rolls back and releases the lock when fn throws", async () => {
    const error = await withAdvisoryLock(db.dataSource, "cart:thrower", async (manager) => {
      await manager.save(manager.create(ShoppingCart, { customer: "thrower", status: "open" }));
      throw new Error("boom");
    }).catch((e: unknown) => e);
    expect((error as Error).message).toBe("boom");
    expect(await carts().countBy({ customer: "thrower" })).toBe(0);
    // Free again: another connection gets it without waiting.
    expect(await withAdvisoryLock(holderSource, "cart:thrower", async () => "free", { nowait: true })).toBe("free");
  });

  it("refuses with LockTimeoutError under nowait or after timeoutMs, without running fn", async () => {
    const held = await holdLock("cart:held");
    try {
      let ran = false;
      const nowait = await withAdvisoryLock(db.dataSource, "cart:held", async () => void (ran = true), { nowait: true }).catch(
        (e: unknown) => e,
      );
      expect(nowait).toBeInstanceOf(LockTimeoutError);
      expect(nowait).toMatchObject({ name: "LockTimeoutError", lockName: 'advisory lock "cart:held"', timeoutMs: 0 });
      const started = Date.now();
      const timedOut = await withAdvisoryLock(db.dataSource, "cart:held", async () => void (ran = true), { timeoutMs: 300 }).catch(
        (e: unknown) => e,
      );
      expect(timedOut).toBeInstanceOf(LockTimeoutError);
      expect(timedOut).toMatchObject({ timeoutMs: 300 });
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(ran).toBe(false);
    } finally {
      await held.release();
    }
    expect(await withAdvisoryLock(db.dataSource, "cart:held", async () => "free", { nowait: true })).toBe("free");
  });

  if (driver !== "sqlite") {
    it("locks one key, not others (SQLite has one lock for the whole database)", async () => {
      const held = await holdLock(42);
      try {
        expect(await withAdvisoryLock(db.dataSource, 43, async () => "other key", { nowait: true })).toBe("other key");
        expect(await withAdvisoryLock(db.dataSource, "42", async () => "string key", { nowait: true })).toBe("string key");
        await expect(withAdvisoryLock(db.dataSource, 42, async () => "same key", { nowait: true })).rejects.toThrow(LockTimeoutError);
      } finally {
        await held.release();
      }
    });
  }

  if (driver === "postgres") {
    it("hashes string keys as documented: the first 8 bytes of SHA-256, signed", async () => {
      const [{ id }] = await db.dataSource.query(
        "SELECT ('x' || left(encode(sha256(convert_to($1, 'UTF8')), 'hex'), 16))::bit(64)::bigint::text AS id",
        ["cart:ümlaut"],
      );
      expect(advisoryLockId("cart:ümlaut")).toBe(BigInt(id));
      const held = await holdLock("cart:ümlaut");
      try {
        const [{ free }] = await db.dataSource.query("SELECT pg_try_advisory_xact_lock($1::bigint) AS free", [id]);
        expect(free).toBe(false);
      } finally {
        await held.release();
      }
    });
  }

  describe("bad input: a typed error, nothing sent", () => {
    const cases: Array<[string, () => Promise<unknown>]> = [
      ["an empty key", () => withAdvisoryLock(db.dataSource, "", async () => 1)],
      ["a fractional key", () => withAdvisoryLock(db.dataSource, 1.5, async () => 1)],
      ["NaN", () => withAdvisoryLock(db.dataSource, Number.NaN, async () => 1)],
      ["a key beyond 2^53", () => withAdvisoryLock(db.dataSource, 2 ** 53, async () => 1)],
      ["an object key", () => withAdvisoryLock(db.dataSource, {} as never, async () => 1)],
      ["no function", () => withAdvisoryLock(db.dataSource, "k", undefined as never)],
      ["a negative timeout", () => withAdvisoryLock(db.dataSource, "k", async () => 1, { timeoutMs: -5 })],
      ["both nowait and timeoutMs", () => withAdvisoryLock(db.dataSource, "k", async () => 1, { nowait: true, timeoutMs: 5 })],
      ["an unknown option", () => withAdvisoryLock(db.dataSource, "k", async () => 1, { wait: 5 } as never)],
    ];

    /** Writes the library cannot guard; every other case is an argument mistake (InvalidArgumentError). */
    const refusedAsUnguarded = new Set<string>([]);

    it.each(cases)("refuses %s", async (_label, attempt) => {
      db.log.clear();
      const error = await attempt().catch((e: unknown) => e);
      const expected = refusedAsUnguarded.has(_label) ? UnguardedWriteError : InvalidArgumentError;
      expect(error).toBeInstanceOf(expected);
      expect(error).toMatchObject({ name: expected.name, operation: "withAdvisoryLock" });
      expect(db.log.queries).toEqual([]);
    });
  });

  describe("one open cart per customer, without a unique index", () => {
    let racers: Racers;
    beforeAll(async () => {
      racers = await startRacers(db);
    });
    afterAll(async () => racers?.stop());

    it("exactly one cart is created by 10 concurrent check-then-insert callers, round after round", async () => {
      for (let round = 0; round < 5; round++) {
        const customer = `customer-${round}`;
        const outcomes = await racers.run("openCartMany", customer, 5);
        expect(outcomes.filter((outcome) => !outcome.ok)).toEqual([]);
        const results = outcomes.map((outcome) => outcome.value as { id: number; created: boolean });
        expect(results.filter((result) => result.created)).toHaveLength(1);
        expect(await carts().countBy({ customer })).toBe(1);
        expect(new Set(results.map((result) => result.id)).size).toBe(1);
      }
    });
  });
});
