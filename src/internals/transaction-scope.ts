import { AsyncLocalStorage } from "node:async_hooks";
import type { DataSource, QueryRunner } from "typeorm";

/**
 * Which transaction the current async context runs in, per DataSource: set around the callback of
 * every `transaction()` (EntityManager's, so DataSource's and typeorm-transactional's too) and around
 * the work of a transaction typeorm-occ drives itself. A write path that would open a transaction of
 * its own can then tell "called inside the caller's transaction" apart from "called on its own".
 * Transactions a caller drives by hand (`queryRunner.startTransaction()`) are not seen.
 */
const scopes = new AsyncLocalStorage<ReadonlyMap<DataSource, QueryRunner>>();

/** Runs `work` as running inside `queryRunner`'s transaction on `dataSource`. */
export function runInTransactionScope<T>(dataSource: DataSource, queryRunner: QueryRunner, work: () => T): T {
  return scopes.run(new Map([...(scopes.getStore() ?? []), [dataSource, queryRunner]]), work);
}

/** The query runner of the innermost transaction on `dataSource` the current async context runs in. */
export function transactionRunnerOf(dataSource: DataSource): QueryRunner | undefined {
  return scopes.getStore()?.get(dataSource);
}
