import { AsyncLocalStorage } from "node:async_hooks";
import type { DataSource, EntityManager, EntityMetadata, QueryRunner } from "typeorm";
import { LockTimeoutError, TypeOrmCompatibilityError } from "../errors";
import { runInTransactionScope, transactionRunnerOf } from "../internals/transaction-scope";
import { runLibraryWrite } from "../write-guard/library-write-context";
import { readFromPrimary } from "../replication/primary-reads";
import { advisoryLockId, lockNameOf, mysqlLockName, type AdvisoryLockKey } from "./advisory-key";
import { describe, invalidArgument, refused } from "./input-checks";
import {
  acquireWithin,
  lockDialectOf,
  lockWaitOf,
  takeSqliteWriteLock,
  type LockDialect,
  type LockWait,
  type LockWaitOptions,
} from "./lock-dialect";

const OPERATION = "withAdvisoryLock";
/** MariaDB's GET_LOCK treats a negative timeout as an error, not as "forever": a year stands in for it. */
const NO_LIMIT_SECONDS = 365 * 24 * 3600;

export type WithAdvisoryLockOptions = LockWaitOptions;

/** A withAdvisoryLock transaction the current async context runs in: its connection and the locks it holds. */
interface LockScope {
  queryRunner: QueryRunner;
  ids: Set<bigint>;
  /** MariaDB: GET_LOCK names taken by nested calls, released with the outermost call's own. */
  mysqlNames: string[];
}

/** Per DataSource, the outermost withAdvisoryLock call the current async context runs inside. */
const lockScopes = new AsyncLocalStorage<ReadonlyMap<DataSource, LockScope>>();

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
 * docs/choosing-a-remedy.md). `nowait` / `timeoutMs` → `LockTimeoutError`, and `fn` is not run.
 *
 * Nested calls (from `fn`, same async context) join the outer call's transaction, in a savepoint
 * (an error from the inner `fn` undoes only its work): the same key again is re-entrant (no
 * statement, no wait); another key is taken on the same connection and held until the outermost
 * call's transaction ends. Inside a transaction of the caller's own (`dataSource.transaction()`,
 * `@Transactional()`, `withOptimisticRetry({ dataSource })`) the call is refused with
 * `UnguardedWriteError` before anything is sent, on every database: a new transaction there would
 * commit apart from the caller's (PostgreSQL, MariaDB) or silently join it (SQLite). Take the lock
 * first and do the transaction's work with the manager `fn` receives.
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
  if (typeof fn !== "function") throw invalidArgument(lockName, OPERATION, `fn must be a function, got ${describe(fn)}`);
  // Reads inside, also through global repositories, go to the primary: a replica may not show the previous holder's writes.
  const callback = fn;
  fn = (manager) => readFromPrimary(() => callback(manager));
  const dialect = lockDialectOf(dataSource, lockName, OPERATION);
  const outer = lockScopes.getStore()?.get(dataSource);
  const transaction = transactionRunnerOf(dataSource);
  if (outer && transaction === outer.queryRunner) return nested(dataSource, outer, dialect, id, lockName, wait, fn);
  if (transaction) {
    throw refused(
      lockName,
      OPERATION,
      "it runs inside a transaction of the caller's on this DataSource, where the transaction it opens would commit apart from the caller's (PostgreSQL, MariaDB) or join it (SQLite). " +
        "Call withAdvisoryLock first and do the transaction's work with the manager fn receives (nested withAdvisoryLock calls inside fn join that transaction)",
    );
  }
  if (dialect === "mysql") return withMysqlLock(dataSource, id, lockName, wait, fn);
  const table = dialect === "sqlite" ? anyTable(dataSource, lockName) : undefined;

  return dataSource.transaction(async (manager) => {
    const queryRunner = manager.queryRunner!;
    await runLibraryWrite(() => lockInTransaction(queryRunner, dialect, id, lockName, wait, table));
    return inScope(dataSource, { queryRunner, ids: new Set([id]), mysqlNames: [] }, () => fn(manager));
  });
}

/** PostgreSQL's transaction-scoped advisory lock, or SQLite's write lock, as the transaction's next statement. */
function lockInTransaction(
  queryRunner: QueryRunner,
  dialect: LockDialect,
  id: bigint,
  lockName: string,
  wait: LockWait,
  table: EntityMetadata | undefined,
) {
  return acquireWithin(queryRunner, dialect, wait, lockName, false, async () => {
    if (table) return takeSqliteWriteLock(queryRunner, table);
    if (wait.timeoutMs !== 0) return void (await queryRunner.query("SELECT pg_advisory_xact_lock($1::bigint)", [String(id)]));
    const [{ acquired }] = (await queryRunner.query("SELECT pg_try_advisory_xact_lock($1::bigint) AS acquired", [String(id)])) as Array<{
      acquired: boolean;
    }>;
    if (!acquired) throw new LockTimeoutError(lockName, 0);
  });
}

/**
 * A call from inside another call's `fn` on the same DataSource: a second connection would wait
 * for its own caller's lock forever (same key) or commit apart from it (another key). It joins
 * the outer transaction instead, in a savepoint; a key the scope holds is not taken again, another
 * one is taken on the same connection (SQLite: the write lock is held already) and kept until the
 * outermost call's transaction ends.
 */
async function nested<T>(
  dataSource: DataSource,
  scope: LockScope,
  dialect: LockDialect,
  id: bigint,
  lockName: string,
  wait: LockWait,
  fn: (manager: EntityManager) => Promise<T>,
): Promise<T> {
  return scope.queryRunner.manager.transaction(async (manager) => {
    const queryRunner = manager.queryRunner!;
    const taken = !scope.ids.has(id);
    if (taken && dialect === "mysql") {
      const name = mysqlLockName(String(dataSource.driver.database ?? ""), id);
      await getMysqlLock(queryRunner, name, lockName, wait);
      scope.mysqlNames.push(name);
    } else if (taken && dialect === "postgres") {
      await runLibraryWrite(() => lockInTransaction(queryRunner, dialect, id, lockName, wait, undefined));
    }
    scope.ids.add(id);
    try {
      return await fn(manager);
    } catch (error) {
      // The savepoint's rollback may release a PostgreSQL lock taken in it: take it again if asked again.
      if (taken) scope.ids.delete(id);
      throw error;
    }
  });
}

function inScope<T>(dataSource: DataSource, scope: LockScope, work: () => Promise<T>): Promise<T> {
  return lockScopes.run(new Map([...(lockScopes.getStore() ?? []), [dataSource, scope]]), work);
}

async function withMysqlLock<T>(
  dataSource: DataSource,
  id: bigint,
  lockName: string,
  wait: LockWait,
  fn: (manager: EntityManager) => Promise<T>,
): Promise<T> {
  const name = mysqlLockName(String(dataSource.driver.database ?? ""), id);
  const queryRunner = dataSource.createQueryRunner();
  try {
    await getMysqlLock(queryRunner, name, lockName, wait);
    const scope: LockScope = { queryRunner, ids: new Set([id]), mysqlNames: [] };
    let outcome: { value: T } | { error: unknown };
    try {
      outcome = {
        value: await inScope(dataSource, scope, () => runInTransactionScope(dataSource, queryRunner, () => inTransaction(queryRunner, fn))),
      };
    } catch (error) {
      outcome = { error };
    }
    try {
      // Nested calls' locks first, then this call's own: all after the transaction has ended.
      for (const held of [...scope.mysqlNames.reverse(), name])
        await runLibraryWrite(() => queryRunner.query("SELECT RELEASE_LOCK(?)", [held]));
    } catch (releaseError) {
      if ("value" in outcome) throw releaseError;
    }
    if ("error" in outcome) throw outcome.error;
    return outcome.value;
  } finally {
    await queryRunner.release();
  }
}

/** MariaDB's GET_LOCK on the given connection, waiting as asked; LockTimeoutError when not granted. */
async function getMysqlLock(queryRunner: QueryRunner, name: string, lockName: string, wait: LockWait): Promise<void> {
  const seconds = wait.timeoutMs === undefined ? NO_LIMIT_SECONDS : wait.timeoutMs / 1000;
  const [{ acquired }] = (await runLibraryWrite(() => queryRunner.query("SELECT GET_LOCK(?, ?) AS acquired", [name, seconds]))) as Array<{
    acquired: number | string | null;
  }>;
  if (Number(acquired) !== 1) throw new LockTimeoutError(lockName, wait.timeoutMs ?? null); // 0: timed out, NULL: error
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
  if (!table)
    throw new TypeOrmCompatibilityError(
      `${lockName}: ${OPERATION} on SQLite takes the database write lock through one of the DataSource's tables, and it has none`,
    );
  return table;
}
