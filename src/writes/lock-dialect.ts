import { dataSourceOf } from "../internals/typeorm-internals";
import { isSqliteFamily } from "../version/version-range";
import type { DataSource, EntityMetadata, QueryRunner } from "typeorm";
import { LockTimeoutError, TypeOrmCompatibilityError } from "../errors";
import { describe, invalidArgument, isPlainObject } from "./input-checks";

/**
 * How each database waits for a lock, and how it says it gave up. The locking write paths
 * (`lockAggregate`, `withAdvisoryLock`) differ only here.
 */
export type LockDialect = "postgres" | "mysql" | "sqlite";

/** How long to wait for a lock another transaction holds. */
export interface LockWaitOptions {
  /** Fail at once with `LockTimeoutError` instead of waiting. Defaults to `false`. */
  nowait?: boolean;
  /**
   * Wait at most this many milliseconds (a positive whole number), then fail with
   * `LockTimeoutError`. Defaults to no limit beyond the database's own (PostgreSQL: none; MariaDB:
   * `innodb_lock_wait_timeout` for row locks; SQLite: the connection's busy timeout). MariaDB
   * counts row-lock waits in whole seconds, so there it is rounded up to the next second.
   */
  timeoutMs?: number;
}

/** A validated wait: `timeoutMs` 0 means nowait, `undefined` no limit of ours. */
export interface LockWait {
  timeoutMs: number | undefined;
}

/** The longest wait PostgreSQL's lock_timeout accepts (INT_MAX milliseconds). */
const MAX_TIMEOUT_MS = 2_147_483_647;

export function lockWaitOf(entityName: string, operation: string, options: unknown): LockWait {
  if (options === undefined) return { timeoutMs: undefined };
  if (!isPlainObject(options)) throw invalidArgument(entityName, operation, `options must be an object, got ${describe(options)}`);
  const unknown = Object.keys(options).filter((key) => key !== "nowait" && key !== "timeoutMs");
  if (unknown.length > 0)
    throw invalidArgument(entityName, operation, `unknown option ${unknown.join(", ")} (expected nowait or timeoutMs)`);
  const { nowait, timeoutMs } = options;
  if (nowait !== undefined && typeof nowait !== "boolean")
    throw invalidArgument(entityName, operation, `nowait must be a boolean, got ${describe(nowait)}`);
  if (
    timeoutMs !== undefined &&
    !(Number.isSafeInteger(timeoutMs) && (timeoutMs as number) > 0 && (timeoutMs as number) <= MAX_TIMEOUT_MS)
  ) {
    throw invalidArgument(
      entityName,
      operation,
      `timeoutMs must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS}, got ${describe(timeoutMs)}`,
    );
  }
  if (nowait && timeoutMs !== undefined) throw invalidArgument(entityName, operation, "give either nowait or timeoutMs, not both");
  return { timeoutMs: nowait ? 0 : (timeoutMs as number | undefined) };
}

export function lockDialectOf(dataSource: DataSource, entityName: string, operation: string): LockDialect {
  const type = dataSource.driver.options.type;
  if (type === "postgres") return "postgres";
  if (type === "mysql" || type === "mariadb") return "mysql";
  if (type === "better-sqlite3") return "sqlite";
  throw new TypeOrmCompatibilityError(`${entityName}: ${operation} supports PostgreSQL, MariaDB/MySQL and SQLite, not the ${type} driver`);
}

/** The database refused or stopped waiting for a lock (as opposed to any other failure). */
export function isLockNotGranted(dialect: LockDialect, error: unknown): boolean {
  const driverError = (error as { driverError?: { code?: unknown; errno?: unknown } } | null)?.driverError;
  const code = driverError?.code;
  if (dialect === "postgres") return code === "55P03"; // lock_not_available: lock_timeout and NOWAIT
  if (dialect === "mysql") return driverError?.errno === 1205 || driverError?.errno === 3572; // lock wait timeout / NOWAIT (MySQL 8)
  // SQLITE_BUSY only: SQLITE_BUSY_SNAPSHOT means the transaction read before locking, not that it waited.
  return code === "SQLITE_BUSY";
}

/**
 * Runs `acquire` (the statement that waits for a lock) with the wait bounded as asked, and turns
 * the database's refusal into {@link LockTimeoutError}. The session's own setting is restored
 * afterwards, so statements after the lock keep the caller's limits. `rowLock` says whether
 * `acquire` waits on a row (MariaDB bounds those with a session variable) or passes its own limit.
 */
export async function acquireWithin<T>(
  queryRunner: QueryRunner,
  dialect: LockDialect,
  wait: LockWait,
  lockName: string,
  rowLock: boolean,
  acquire: () => Promise<T>,
): Promise<T> {
  const restore = await boundWait(queryRunner, dialect, wait, rowLock);
  let result: T;
  try {
    result = await acquire();
  } catch (error) {
    // A failed statement aborts a PostgreSQL transaction: nothing more can be sent, and
    // set_config(…, true) ends with it anyway.
    if (dialect !== "postgres") await restore?.();
    if (isLockNotGranted(dialect, error)) throw new LockTimeoutError(lockName, wait.timeoutMs ?? null, { cause: error });
    throw error;
  }
  await restore?.();
  return result;
}

type Restore = (() => Promise<void>) | undefined;

async function boundWait(queryRunner: QueryRunner, dialect: LockDialect, wait: LockWait, rowLock: boolean): Promise<Restore> {
  const { timeoutMs } = wait;
  if (timeoutMs === undefined) return undefined;
  if (dialect === "postgres") {
    if (timeoutMs === 0) return undefined; // NOWAIT / pg_try_* in the statement itself
    const [{ previous }] = (await queryRunner.query(
      "SELECT current_setting('lock_timeout') AS previous, set_config('lock_timeout', $1, true) AS current",
      [`${timeoutMs}ms`],
    )) as Array<{ previous: string }>;
    return async () => void (await queryRunner.query("SELECT set_config('lock_timeout', $1, true)", [previous]));
  }
  if (dialect === "mysql") {
    if (!rowLock || timeoutMs === 0) return undefined; // GET_LOCK takes its own timeout; NOWAIT is in the statement
    const [{ previous }] = (await queryRunner.query("SELECT @@SESSION.innodb_lock_wait_timeout AS previous")) as Array<{
      previous: number | string;
    }>;
    await queryRunner.query("SET SESSION innodb_lock_wait_timeout = ?", [Math.ceil(timeoutMs / 1000)]);
    return async () => void (await queryRunner.query("SET SESSION innodb_lock_wait_timeout = ?", [Number(previous)]));
  }
  // SQLite waits for the database's write lock through the connection's busy handler.
  const [{ timeout: previous }] = (await queryRunner.query("PRAGMA busy_timeout")) as Array<{ timeout: number }>;
  await queryRunner.query(`PRAGMA busy_timeout = ${timeoutMs}`); // a validated integer: PRAGMA takes no parameters
  return async () => void (await queryRunner.query(`PRAGMA busy_timeout = ${Number(previous)}`));
}

/**
 * Takes SQLite's database write lock now rather than at the transaction's first write: a
 * statement that writes (and matches no row) makes SQLite acquire it, waiting through the busy
 * handler, before the transaction has read anything. Two lockers in two processes then queue here
 * instead of both reading and one failing later with SQLITE_BUSY_SNAPSHOT.
 */
export async function takeSqliteWriteLock(queryRunner: QueryRunner, metadata: EntityMetadata): Promise<void> {
  const escape = (name: string) => dataSourceOf(queryRunner).driver.escape(name);
  const column = escape(metadata.primaryColumns[0].databaseName);
  await queryRunner.query(`UPDATE ${escape(metadata.tableName)} SET ${column} = ${column} WHERE 1 = 0`);
}

/**
 * A write path that reads (the rows' roots) before it writes takes SQLite's write lock first, so
 * concurrent writers in other processes queue instead of failing with SQLITE_BUSY_SNAPSHOT; a no-op
 * elsewhere, where the roots' row locks order the writers.
 */
export async function writeLockBeforeReads(queryRunner: QueryRunner, metadata: EntityMetadata): Promise<void> {
  if (isSqliteFamily(dataSourceOf(queryRunner).driver.options.type)) await takeSqliteWriteLock(queryRunner, metadata);
}
