import type { DataSource, EntityManager, QueryRunner } from "typeorm";
import { isStaleDataError } from "./errors";

// TypeORM's root does not export IsolationLevel, and a deep type import breaks consumers whose
// moduleResolution reads `exports` (typeorm's has no types condition): derive it from public API.
type IsolationLevel = NonNullable<Parameters<QueryRunner["startTransaction"]>[0]>;

export interface OptimisticRetryOptions {
  /** How many times to run `fn` again after a conflict. Defaults to 3 (so at most 4 attempts). */
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
   * `StaleDataError`, a PostgreSQL serialization failure (SQLSTATE 40001) or deadlock (40P01).
   */
  retryOn?: (error: unknown) => boolean;
  /** Called before each new attempt, e.g. for metrics. */
  onRetry?: (error: unknown, attempt: number) => void;
}

/**
 * A version conflict, a PostgreSQL serialization failure (REPEATABLE READ / SERIALIZABLE), or a
 * deadlock PostgreSQL broke by rolling this transaction back (40P01: e.g. one aggregate save changing
 * a line while another removes it). All three leave nothing written, so running the unit again is safe.
 */
export function isRetryableConflict(error: unknown): boolean {
  return isStaleDataError(error) || isSerializationFailure(error) || isDeadlock(error);
}

/** SQLSTATE 40P01 (deadlock_detected): PostgreSQL rolled this transaction back to break a deadlock. */
export function isDeadlock(error: unknown): boolean {
  return sqlState(error) === "40P01";
}

/** SQLSTATE 40001, as raised by PostgreSQL (and wrapped by TypeORM's QueryFailedError). */
export function isSerializationFailure(error: unknown): boolean {
  return sqlState(error) === "40001";
}

/** SQLite's "database is locked" (SQLITE_BUSY): worth retrying when several processes share a file. */
export function isSqliteBusy(error: unknown): boolean {
  const code = (error as { code?: unknown; driverError?: { code?: unknown } } | null)?.driverError?.code ?? (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("SQLITE_BUSY");
}

function sqlState(error: unknown): unknown {
  if (typeof error !== "object" || error === null) return undefined;
  const withCode = error as { code?: unknown; driverError?: { code?: unknown } };
  return withCode.driverError?.code ?? withCode.code;
}

/**
 * Runs a load-change-save unit and, when it loses a race (`StaleDataError`, or SQLSTATE 40001), runs
 * it again from the start: `fn` must load fresh state on every attempt. Other errors are rethrown
 * at once; after the last retry the last conflict is rethrown.
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
  const retries = options.retries ?? 3;
  if (!Number.isInteger(retries) || retries < 0) throw new RangeError(`retries must be a non-negative integer, got ${retries}`);
  const retryOn = options.retryOn ?? isRetryableConflict;
  const base = options.baseDelayMs ?? 5;
  const max = options.maxDelayMs ?? 250;
  const { dataSource, isolationLevel } = options;

  for (let attempt = 0; ; attempt++) {
    try {
      if (!dataSource) return await (fn as (attempt: number) => Promise<T>)(attempt);
      const work = (manager: EntityManager) => (fn as (manager: EntityManager, attempt: number) => Promise<T>)(manager, attempt);
      return await (isolationLevel ? dataSource.transaction(isolationLevel, work) : dataSource.transaction(work));
    } catch (error) {
      if (attempt >= retries || !retryOn(error)) throw error;
      options.onRetry?.(error, attempt + 1);
      const ceiling = Math.min(max, base * 2 ** attempt);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
    }
  }
}
