import type { DataSource } from "typeorm";
import {
  isLockWaitTimeout,
  isRetryableConflict,
  LockTimeoutError,
  lockAggregate,
  withAdvisoryLock,
  withOptimisticRetry,
} from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { eachDriver } from "../support/each-driver";
import { Account, writeEntities } from "../writes/support/entities";

/**
 * Issue 14, section 3: README lists "lock wait ran out" among the conflicts withOptimisticRetry
 * retries, but typeorm-occ's own LockTimeoutError (lockAggregate / withAdvisoryLock with `nowait`
 * or `timeoutMs`, PostgreSQL 55P03, MariaDB ER_LOCK_WAIT_TIMEOUT, SQLite SQLITE_BUSY underneath)
 * was rethrown at once: it carries the driver's code in `cause` only.
 */
eachDriver(undefined, { mariadb: true })("LockTimeoutError under withOptimisticRetry on %s", (driver) => {
  let db: TestDatabase;
  let holderSource: DataSource;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: writeEntities });
    holderSource = await db.open(driver === "sqlite" ? ({ timeout: 100 } as never) : {});
  });
  afterAll(async () => db?.close());

  /** Holds `key` on the other DataSource until released. */
  async function holdLock(key: string): Promise<() => Promise<void>> {
    let release!: () => void;
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const done = withAdvisoryLock(holderSource, key, async () => {
      locked();
      await new Promise<void>((resolve) => (release = resolve));
    });
    await isLocked;
    return async () => {
      release();
      await done;
    };
  }

  it("is a retryable conflict, by class and by name (two copies of the package)", () => {
    const error = new LockTimeoutError('advisory lock "k"', 0);
    expect(isLockWaitTimeout(error)).toBe(true);
    expect(isRetryableConflict(error)).toBe(true);
    expect(isRetryableConflict(Object.assign(new Error("x"), { name: "LockTimeoutError" }))).toBe(true);
  });

  it("reproduction: a nowait advisory lock that meets a holder is retried, and the retry runs fn once the holder is gone", async () => {
    const release = await holdLock("job:nightly");
    const errors: unknown[] = [];
    let ran = 0;
    const result = await withOptimisticRetry(
      () => withAdvisoryLock(db.dataSource, "job:nightly", async () => ++ran, { nowait: true }),
      // The holder is told to let go at the first retry; its COMMIT may still be under way at the next attempt.
      {
        retries: 20,
        baseDelayMs: 20,
        onRetry: (error) => {
          errors.push(error);
          void release();
        },
      },
    );
    await release();
    expect(errors.length).toBeGreaterThanOrEqual(1);
    errors.forEach((error) => expect(error).toBeInstanceOf(LockTimeoutError));
    expect(result).toBe(1);
    expect(ran).toBe(1);
  });

  it("a nowait lockAggregate that meets a holder is retried in a fresh transaction", async () => {
    const account = await db.dataSource.getRepository(Account).save({ owner: "ada", balance: 1 });
    let release!: () => void;
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const held = holderSource.transaction(async (manager) => {
      await lockAggregate(manager, Account, account.id);
      locked();
      await new Promise<void>((resolve) => (release = resolve));
    });
    await isLocked;
    const errors: unknown[] = [];
    const balance = await withOptimisticRetry(
      async (manager) => {
        const locked = await lockAggregate(manager, Account, account.id, { nowait: true });
        return locked!.balance;
      },
      {
        dataSource: db.dataSource,
        retries: 20,
        baseDelayMs: 20,
        onRetry: (error) => {
          errors.push(error);
          release();
        },
      },
    );
    await held;
    expect(errors.length).toBeGreaterThanOrEqual(1);
    errors.forEach((error) => expect(error).toBeInstanceOf(LockTimeoutError));
    expect(balance).toBe(1);
  });
});
