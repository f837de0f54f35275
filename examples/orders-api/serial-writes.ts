import type { DataSource } from "typeorm";

const queues = new WeakMap<DataSource, Promise<unknown>>();

/**
 * Runs `write` after every earlier write on the same DataSource has finished — but only on
 * better-sqlite3, where TypeORM shares one QueryRunner (one connection, one transaction state)
 * across the whole DataSource: two overlapping save() calls would otherwise run inside one
 * transaction, and a StaleDataError rolling back one of them could undo or commit the other's
 * statements. Reads stay concurrent, so the version check still decides who wins a race.
 * PostgreSQL saves run on separate pooled connections and are not queued.
 *
 * @example
 * await serialWrite(dataSource, () => orders.save(order));
 */
export function serialWrite<T>(dataSource: DataSource, write: () => Promise<T>): Promise<T> {
  if (dataSource.options.type !== "better-sqlite3") return write();
  const previous = queues.get(dataSource) ?? Promise.resolve();
  const next = previous.then(write, write);
  queues.set(dataSource, next.catch(() => undefined));
  return next;
}
