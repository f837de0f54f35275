import type { DataSource, EntityManager, EntityMetadata, QueryRunner } from "typeorm";
import { LockTimeoutError, TypeOrmCompatibilityError } from "../errors";
import { runLibraryWrite } from "../library-write-context";
import { readFromPrimary } from "../replication/primary-reads";
import { advisoryLockId, lockNameOf, mysqlLockName, type AdvisoryLockKey } from "./advisory-key";
import { describe, refused } from "./input-checks";
import { acquireWithin, lockDialectOf, lockWaitOf, takeSqliteWriteLock, type LockWait, type LockWaitOptions } from "./lock-dialect";

const OPERATION = "withAdvisoryLock";
/** MariaDB's GET_LOCK treats a negative timeout as an error, not as "forever": a year stands in for it. */
const NO_LIMIT_SECONDS = 365 * 24 * 3600;

export type WithAdvisoryLockOptions = LockWaitOptions;

/**
 * Runs `fn` in a new transaction while holding a lock on a name, for work no single row can guard:
 * check-then-insert without a unique index ("one open cart per customer"), work spanning several
 * rows or aggregates. Callers with the same key run one at a time; the lock is held until the
 * transaction has committed or rolled back, so the next holder sees everything the previous one
 * wrote. Resolves to what `fn` returns; an error from `fn` rolls back and is rethrown.
 *
 * - PostgreSQL: `pg_advisory_xact_lock(key)` as the transaction's first statement; released by
 *   COMMIT/ROLLBACK. Use the default READ COMMITTED: a REPEATABLE READ snapshot would be taken
 *   before the wait and miss the previous holder's writes.
 * - MariaDB/MySQL: `GET_LOCK(name, timeout)` on the transaction's own connection before it
 *   begins, `RELEASE_LOCK(name)` after it ends, on every path (also when `fn` throws).
 * - SQLite: the database's write lock (one writer at a time), taken at once: every key shares it.
 *
 * Keys: a safe integer is used as is; a string maps to the first 8 bytes of its SHA-256 (see
 * README, "Choosing a remedy"). `nowait` / `timeoutMs` → `LockTimeoutError`, and `fn` is not run.
 *
 * @example
 * const cart = await withAdvisoryLock(dataSource, `cart:${customerId}`, async (manager) => {
 *   const open = await manager.findOneBy(Cart, { customerId, status: "open" });
 *   return open ?? manager.save(manager.create(Cart, { customerId, status: "open" }));
 * }, { timeoutMs: 5000 });
 */
export async function withAdvisoryLock<T>(
  dataSource: DataSource,
  key: AdvisoryLockKey,
  fn: (manager: EntityManager) => Promise<T>,
  options?: WithAdvisoryLockOptions,
): Promise<T> {
  const id = advisoryLockId(key);
  const lockName = lockNameOf(key);
  const wait = lockWaitOf(lockName, OPERATION, options);
  if (typeof fn !== "function") throw refused(lockName, OPERATION, `fn must be a function, got ${describe(fn)}`);
  // Reads inside, also through global repositories, go to the primary: a replica may not show the previous holder's writes.
  const callback = fn;
  fn = (manager) => readFromPrimary(() => callback(manager));
  const dialect = lockDialectOf(dataSource, lockName, OPERATION);
  if (dialect === "mysql") return withMysqlLock(dataSource, id, lockName, wait, fn);
  const table = dialect === "sqlite" ? anyTable(dataSource, lockName) : undefined;

  return dataSource.transaction(async (manager) => {
    const queryRunner = manager.queryRunner!;
    await runLibraryWrite(() =>
      acquireWithin(queryRunner, dialect, wait, lockName, false, async () => {
        if (table) return takeSqliteWriteLock(queryRunner, table);
        if (wait.timeoutMs !== 0) return void (await queryRunner.query("SELECT pg_advisory_xact_lock($1::bigint)", [String(id)]));
        const [{ acquired }] = (await queryRunner.query("SELECT pg_try_advisory_xact_lock($1::bigint) AS acquired", [String(id)])) as Array<{ acquired: boolean }>;
        if (!acquired) throw new LockTimeoutError(lockName, 0);
      }),
    );
    return fn(manager);
  });
}

async function withMysqlLock<T>(
  dataSource: DataSource,
  id: bigint,
  lockName: string,
  wait: LockWait,
  fn: (manager: EntityManager) => Promise<T>,
): Promise<T> {
  const name = mysqlLockName(String(dataSource.driver.database ?? ""), id);
  const seconds = wait.timeoutMs === undefined ? NO_LIMIT_SECONDS : wait.timeoutMs / 1000;
  const queryRunner = dataSource.createQueryRunner();
  try {
    const [{ acquired }] = (await runLibraryWrite(() => queryRunner.query("SELECT GET_LOCK(?, ?) AS acquired", [name, seconds]))) as Array<{
      acquired: number | string | null;
    }>;
    if (Number(acquired) !== 1) throw new LockTimeoutError(lockName, wait.timeoutMs ?? null); // 0: timed out, NULL: error
    let outcome: { value: T } | { error: unknown };
    try {
      outcome = { value: await inTransaction(queryRunner, fn) };
    } catch (error) {
      outcome = { error };
    }
    try {
      await runLibraryWrite(() => queryRunner.query("SELECT RELEASE_LOCK(?)", [name]));
    } catch (releaseError) {
      if ("value" in outcome) throw releaseError;
    }
    if ("error" in outcome) throw outcome.error;
    return outcome.value;
  } finally {
    await queryRunner.release();
  }
}

async function inTransaction<T>(queryRunner: QueryRunner, fn: (manager: EntityManager) => Promise<T>): Promise<T> {
  await queryRunner.startTransaction();
  try {
    const value = await fn(queryRunner.manager);
    await queryRunner.commitTransaction();
    return value;
  } catch (error) {
    if (queryRunner.isTransactionActive) await queryRunner.rollbackTransaction().catch(() => undefined);
    throw error;
  }
}

/** SQLite's write lock is taken by a no-op write: any table of the DataSource will do. */
function anyTable(dataSource: DataSource, lockName: string): EntityMetadata {
  const table = dataSource.entityMetadatas.find((metadata) => metadata.tableType !== "view" && metadata.primaryColumns.length > 0);
  if (!table) throw new TypeOrmCompatibilityError(`${lockName}: ${OPERATION} on SQLite takes the database write lock through one of the DataSource's tables, and it has none`);
  return table;
}
