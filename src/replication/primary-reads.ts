import { AsyncLocalStorage } from "node:async_hooks";

/**
 * Where reads go on a replicated DataSource (`replication: { master, slaves }`). TypeORM sends a
 * read that has no query runner of its own (`repository.find()`, a query builder's `getMany()`,
 * `getExists()`, lazy relations) to a replica, which may lag the primary. A read that decides a
 * write must see the latest committed row, so inside this scope such reads go to the primary.
 * Async context, so concurrent requests never see each other's scope.
 */
const primaryScope = new AsyncLocalStorage<true>();

/**
 * Runs `work` with every read it makes through TypeORM sent to the primary (TypeORM's "master")
 * of a replicated DataSource: reads through a global repository or manager, query builders, and
 * reads inside transactions (which TypeORM sends to the primary anyway). Outside it, those reads
 * go wherever TypeORM sends them: to a replica, unless `replication.defaultMode` is `"master"`.
 * `withOptimisticRetry`, `withAdvisoryLock` and typeorm-occ's own statements run in this scope;
 * on a DataSource without replication it changes nothing.
 *
 * @example
 * // Load, check, save: the load must not come from a replica that has not seen the last save.
 * await readFromPrimary(async () => {
 *   const wallet = await wallets.findOneByOrFail({ id });
 *   wallet.balance += 10;
 *   await wallets.save(wallet);
 * });
 */
export function readFromPrimary<T>(work: () => Promise<T>): Promise<T> {
  return primaryScope.run(true, work);
}

/**
 * {@link readFromPrimary} for work that is not a promise (a framework's `next()`, an observable's
 * subscription): everything it starts, synchronously or later, reads from the primary.
 */
export function withPrimaryReads<T>(work: () => T): T {
  return primaryScope.run(true, work);
}

/** The HTTP methods that change state, whose requests read from the primary under the HTTP and Nest helpers. */
export function isWriteMethod(method: string | undefined): boolean {
  return !["GET", "HEAD", "OPTIONS"].includes((method ?? "GET").toUpperCase());
}

/** True inside {@link readFromPrimary}. */
export function readsFromPrimary(): boolean {
  return primaryScope.getStore() === true;
}
