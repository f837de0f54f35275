import type { DataSource, EntityManager, QueryRunner } from "typeorm";
import { InvalidArgumentError, isStaleDataError, LockTimeoutError, SharedConnectionBusyError } from "../errors";
import { readFromPrimary } from "../replication/primary-reads";

// TypeORM's root does not export IsolationLevel, and a deep type import breaks consumers whose
// moduleResolution reads `exports` (typeorm's has no types condition): derive it from public API.
type IsolationLevel = NonNullable<Parameters<QueryRunner["startTransaction"]>[0]>;

export interface OptimisticRetryOptions {
  /**
   * How long to keep trying, in ms: no new attempt starts once this much time has passed since the
   * first one started (an attempt already running is not cut short). Defaults to 5000. A time
   * budget rather than a count, because how many attempts a hot row needs grows with the number of
   * writers, while how long a caller can wait does not.
   */
  timeBudgetMs?: number;
  /** At most this many runs of `fn` after the first, within the time budget. Defaults to no limit but the budget. */
  retries?: number;
  /** When given, every attempt runs in a fresh `dataSource.transaction(...)` and `fn` receives its manager. */
  dataSource?: DataSource;
  /** Isolation level of those transactions. Defaults to the database's default. */
  isolationLevel?: IsolationLevel;
  /** First backoff ceiling in ms; doubles per attempt, with full jitter. Defaults to 5. */
  baseDelayMs?: number;
  /** Largest backoff in ms. Defaults to 250. */
  maxDelayMs?: number;
  /**
   * Which errors are conflicts worth retrying. Defaults to {@link isRetryableConflict}: a
   * `StaleDataError`, a serialization failure, a deadlock or a lock wait that timed out.
   */
  retryOn?: (error: unknown) => boolean;
  /** Called before each new attempt, e.g. for metrics. */
  onRetry?: (error: unknown, attempt: number) => void;
}

/**
 * An error after which running the unit again from the start is safe and may succeed: a version
 * conflict ({@link isStaleDataError}), a serialization failure ({@link isSerializationFailure}), a
 * deadlock ({@link isDeadlock}) or a lock wait that ran out ({@link isLockWaitTimeout}), on
 * PostgreSQL, MariaDB, MySQL and SQLite. Each one leaves the attempt's transaction to be rolled back,
 * so nothing of it is written.
 *
 * @example
 * try {
 *   await orders.save(order);
 * } catch (error) {
 *   if (isRetryableConflict(error)) return reply.status(409).send("try again");
 *   throw error;
 * }
 */
export function isRetryableConflict(error: unknown): boolean {
  return isStaleDataError(error) || isSerializationFailure(error) || isDeadlock(error) || isLockWaitTimeout(error);
}

/**
 * The database broke a deadlock by rolling this transaction back: PostgreSQL's SQLSTATE 40P01
 * (deadlock_detected), MariaDB's and MySQL's `ER_LOCK_DEADLOCK` (errno 1213). Two transactions
 * that lock the same rows in opposite orders meet here; the other one goes on.
 *
 * @example
 * const retryDeadlocksOnly = { retryOn: isDeadlock };
 * await withOptimisticRetry(() => transfer(from, to, amount), retryDeadlocksOnly);
 */
export function isDeadlock(error: unknown): boolean {
  return driverField(error, "code") === "40P01" || mysqlError(error, "ER_LOCK_DEADLOCK", 1213);
}

/**
 * A statement waited for a lock longer than the database allows and was refused: MariaDB's and
 * MySQL's `ER_LOCK_WAIT_TIMEOUT` (errno 1205, after `innodb_lock_wait_timeout`, 50 s by default),
 * PostgreSQL's SQLSTATE 55P03 (lock_not_available, after `lock_timeout` or with `NOWAIT`), SQLite's
 * `SQLITE_BUSY` ("database is locked": another connection holds the write lock past the busy
 * timeout, or a transaction that has read cannot wait for it; typeorm-occ's own
 * `SharedConnectionBusyError` counts as one), and typeorm-occ's own {@link LockTimeoutError}
 * (`lockAggregate` / `withAdvisoryLock` with `nowait` or `timeoutMs`, which wraps those codes). MariaDB
 * and MySQL undo only the statement: the transaction around it must be rolled back before the
 * retry, as `withOptimisticRetry` does with `{ dataSource }` and as `save()` does with its own.
 *
 * @example
 * await withOptimisticRetry(async (manager) => {
 *   await manager.query("SET SESSION innodb_lock_wait_timeout = 2"); // MariaDB: give up waiting after 2 s
 *   const stock = await manager.findOneByOrFail(Stock, { sku });
 *   stock.quantity -= 1;
 *   await manager.save(stock);
 * }, { dataSource, retryOn: isLockWaitTimeout });
 */
export function isLockWaitTimeout(error: unknown): boolean {
  const code = driverField(error, "code");
  return (
    isLockTimeoutError(error) ||
    isSharedConnectionBusy(error) ||
    code === "55P03" ||
    code === "SQLITE_BUSY" ||
    mysqlError(error, "ER_LOCK_WAIT_TIMEOUT", 1205)
  );
}

/** Ours: the in-process twin of SQLITE_BUSY (its own `code` is "shared-connection-busy"); by name too, for two copies of the package. */
function isSharedConnectionBusy(error: unknown): boolean {
  return error instanceof SharedConnectionBusyError || (error instanceof Error && error.name === "SharedConnectionBusyError");
}

/** Ours: it wraps the driver's code in `cause`, not in fields of its own; by name too, for two copies of the package. */
function isLockTimeoutError(error: unknown): boolean {
  return error instanceof LockTimeoutError || (error instanceof Error && error.name === "LockTimeoutError");
}

/**
 * The database refused a transaction whose snapshot is out of date: PostgreSQL's SQLSTATE 40001
 * (under REPEATABLE READ or SERIALIZABLE), and MariaDB's `ER_CHECKREAD` (errno 1020, "Record has
 * changed since last read", under `innodb_snapshot_isolation`, on by default from MariaDB 11.8), and
 * SQLite's `SQLITE_BUSY_SNAPSHOT` (in WAL mode, a transaction that read before another connection
 * committed cannot write). All of them end the transaction's attempt.
 *
 * @example
 * await withOptimisticRetry(work, { dataSource, isolationLevel: "REPEATABLE READ", retryOn: isSerializationFailure });
 */
export function isSerializationFailure(error: unknown): boolean {
  const code = driverField(error, "code");
  return code === "40001" || code === "SQLITE_BUSY_SNAPSHOT" || mysqlError(error, "ER_CHECKREAD", 1020);
}

/**
 * Any of SQLite's busy codes (`SQLITE_BUSY`, `SQLITE_BUSY_SNAPSHOT`, `SQLITE_BUSY_RECOVERY`, …). The
 * two that mean a lost race are already part of {@link isRetryableConflict} (through
 * {@link isLockWaitTimeout} and {@link isSerializationFailure}); this guard is for telling SQLite's
 * contention apart, e.g. in metrics.
 *
 * @example
 * await withOptimisticRetry(work, { dataSource, onRetry: (e) => isSqliteBusy(e) && metrics.increment("sqlite.busy") });
 */
export function isSqliteBusy(error: unknown): boolean {
  if (isSharedConnectionBusy(error)) return true;
  const code = driverField(error, "code");
  return typeof code === "string" && code.startsWith("SQLITE_BUSY");
}

/** A field of the driver's error, read through TypeORM's `QueryFailedError` (`driverError`) or directly. */
function driverField(error: unknown, field: "code" | "errno"): unknown {
  if (typeof error !== "object" || error === null) return undefined;
  const withFields = error as { driverError?: Record<string, unknown> } & Record<string, unknown>;
  return withFields.driverError?.[field] ?? withFields[field];
}

/** mysql2 (and mysql) name the server's error in `code` and number it in `errno`. */
function mysqlError(error: unknown, code: string, errno: number): boolean {
  return driverField(error, "code") === code || driverField(error, "errno") === errno;
}

/** Defaults of {@link OptimisticRetryOptions}; see docs/retrying.md for how they were chosen. */
const DEFAULT_TIME_BUDGET_MS = 5000;
const DEFAULT_BASE_DELAY_MS = 5;
const DEFAULT_MAX_DELAY_MS = 250;

/**
 * Runs a load-change-save unit and, when it loses a race ({@link isRetryableConflict}), runs
 * it again from the start after a jittered backoff: `fn` must load fresh state on every attempt.
 * Attempts are started until the time budget (`timeBudgetMs`, 5 s by default) is spent, or
 * `retries` runs after the first, when given. Other errors are rethrown at once; when the
 * attempts run out, the last conflict is rethrown.
 *
 * Every attempt reads from the primary of a replicated DataSource, however `fn` reads: through
 * the attempt's manager, a global repository or a query builder (see {@link readFromPrimary}),
 * so a retry never reloads the row it lost on from a replica that has not seen the winner.
 *
 * @example
 * await withOptimisticRetry(async (manager) => {
 *   const wallet = await manager.findOneByOrFail(Wallet, { id });
 *   wallet.balance += 10;
 *   await manager.save(wallet);
 * }, { dataSource });
 */
export function withOptimisticRetry<T>(
  fn: (manager: EntityManager, attempt: number) => Promise<T>,
  options: OptimisticRetryOptions & { dataSource: DataSource },
): Promise<T>;
export function withOptimisticRetry<T>(fn: (attempt: number) => Promise<T>, options?: OptimisticRetryOptions): Promise<T>;
export async function withOptimisticRetry<T>(
  fn: ((manager: EntityManager, attempt: number) => Promise<T>) | ((attempt: number) => Promise<T>),
  options: OptimisticRetryOptions = {},
): Promise<T> {
  const retries = options.retries ?? Number.POSITIVE_INFINITY;
  if (retries !== Number.POSITIVE_INFINITY && (!Number.isInteger(retries) || retries < 0)) {
    throw new InvalidArgumentError(undefined, "withOptimisticRetry", `retries must be a non-negative integer, got ${retries}`);
  }
  const budget = options.timeBudgetMs ?? DEFAULT_TIME_BUDGET_MS;
  if (typeof budget !== "number" || !(budget >= 0)) {
    throw new InvalidArgumentError(undefined, "withOptimisticRetry", `timeBudgetMs must be a number ≥ 0, got ${budget}`);
  }
  const retryOn = options.retryOn ?? isRetryableConflict;
  const base = options.baseDelayMs ?? DEFAULT_BASE_DELAY_MS;
  const max = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
  const { dataSource, isolationLevel } = options;
  const started = Date.now();

  for (let attempt = 0; ; attempt++) {
    try {
      return await readFromPrimary(() => {
        if (!dataSource) return (fn as (attempt: number) => Promise<T>)(attempt);
        const work = (manager: EntityManager) => (fn as (manager: EntityManager, attempt: number) => Promise<T>)(manager, attempt);
        return isolationLevel ? dataSource.transaction(isolationLevel, work) : dataSource.transaction(work);
      });
    } catch (error) {
      if (attempt >= retries || !retryOn(error)) throw error;
      // Full jitter: contenders spread out instead of colliding again in lockstep.
      const delay = Math.random() * Math.min(max, base * 2 ** Math.min(attempt, 30));
      if (Date.now() - started + delay >= budget) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
      // A busy event loop fires the timer late: no attempt starts once the budget is spent.
      if (Date.now() - started >= budget) throw error;
      options.onRetry?.(error, attempt + 1);
    }
  }
}
