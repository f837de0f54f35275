import { dataSourceOf } from "../internals/typeorm-internals";
import type { EntityManager, EntityMetadata, EntityTarget, FindOptionsRelations, FindOptionsWhere, ObjectLiteral } from "typeorm";
import { aggregateGraphOf, type AggregateGraph } from "../aggregate/aggregate-graph";
import { formatPrimaryKey, TransactionRequiredError } from "../errors";
import { runLibraryWrite } from "../write-guard/library-write-context";
import { primaryKeyValues } from "../version/versioned-metadata";
import { primaryKeyWhere, refuseAggregateMember } from "./input-checks";
import { acquireWithin, lockDialectOf, lockWaitOf, takeSqliteWriteLock, type LockWaitOptions } from "./lock-dialect";

const OPERATION = "lockAggregate";

export type LockAggregateOptions = LockWaitOptions;

/** A root's primary key: its value when it has one column (`7`), otherwise an object (`{ tenant, sku }`). */
export type PrimaryKeyInput = string | number | bigint | Date | ObjectLiteral;

/**
 * Pessimistic locking of a whole aggregate through its root, inside the caller's transaction:
 * locks the root row (`SELECT … FOR UPDATE` on PostgreSQL and MariaDB; on SQLite the database's
 * write lock, taken at once, so lockers in other processes queue instead of failing later), then
 * loads the root with its members (the aggregate's member relations, recursively) and returns it.
 * Members are never locked row by row: every writer of the aggregate moves the root's version,
 * whose row is locked, so the root guards them. Until the transaction ends, other lockers wait and
 * other writers of the aggregate block on the root; a `save()` of the returned root then cannot
 * meet a `StaleDataError` from a concurrent writer.
 *
 * Resolves to `null` when no row has that primary key (nothing is locked then). Call it first in
 * the transaction: on MariaDB (REPEATABLE READ) and SQLite, reads made before it fix the snapshot
 * the members are loaded from. Outside a transaction → `TransactionRequiredError` (a lock that ends
 * with its statement protects nothing). `nowait` / `timeoutMs` → `LockTimeoutError`. Entities
 * outside any aggregate can be locked too (just the row); members of an aggregate are refused:
 * lock their root.
 *
 * @example
 * await dataSource.transaction(async (manager) => {
 *   const order = await lockAggregate(manager, Order, orderId, { timeoutMs: 2000 });
 *   if (!order) throw new OrderNotFoundError(orderId);
 *   order.lines[0].quantity += 1;
 *   await manager.save(order); // the root's version moves once; nobody else could interleave
 * });
 */
export async function lockAggregate<T extends ObjectLiteral>(
  manager: EntityManager,
  root: EntityTarget<T>,
  primaryKey: PrimaryKeyInput,
  options?: LockAggregateOptions,
): Promise<T | null> {
  const metadata = dataSourceOf(manager).getMetadata(root);
  const where = primaryKeyWhere(metadata, OPERATION, primaryKey);
  const wait = lockWaitOf(metadata.name, OPERATION, options);
  refuseAggregateMember(dataSourceOf(manager), metadata, OPERATION);
  const dialect = lockDialectOf(dataSourceOf(manager), metadata.name, OPERATION);
  const queryRunner = manager.queryRunner;
  if (!queryRunner?.isTransactionActive) {
    throw new TransactionRequiredError(
      metadata.name,
      `${OPERATION} needs a transaction (a lock that ends with its statement protects nothing): call it with the manager of dataSource.transaction(async (manager) => …)`,
    );
  }
  const lockName = `${metadata.name}#${formatPrimaryKey(primaryKeyValues(metadata, where))}`;
  const relations = memberTree(aggregateGraphOf(dataSourceOf(manager)), metadata, new Set([metadata]));

  return runLibraryWrite(async () => {
    const found = await acquireWithin(queryRunner, dialect, wait, lockName, true, async () => {
      if (dialect === "sqlite") {
        await takeSqliteWriteLock(queryRunner, metadata);
        return true;
      }
      const alias = "occ_root";
      const query = queryRunner.manager
        .createQueryBuilder(metadata.target, alias, queryRunner)
        .select(metadata.primaryColumns.map((column) => `${alias}.${column.propertyPath}`))
        .where(where)
        .setLock("pessimistic_write");
      if (wait.timeoutMs === 0) query.setOnLocked("nowait");
      return (await query.getRawOne()) !== undefined;
    });
    if (!found) return null;
    // find(), not findOne(): with joined relations findOne() adds a query to pick the first root; the key already does.
    const [loaded] = await queryRunner.manager.find<T>(metadata.target, {
      where: where as FindOptionsWhere<T>,
      relations: relations as FindOptionsRelations<T>,
    });
    return loaded ?? null;
  });
}

/** `{ lines: { notes: true } }`: the member relations of the aggregate, from the root down. */
function memberTree(graph: AggregateGraph, metadata: EntityMetadata, visited: Set<EntityMetadata>): Record<string, unknown> {
  const tree: Record<string, unknown> = {};
  for (const relation of graph.memberRelations(metadata)) {
    const member = relation.inverseEntityMetadata;
    if (visited.has(member)) continue;
    const below = memberTree(graph, member, new Set([...visited, member]));
    tree[relation.propertyPath] = Object.keys(below).length > 0 ? below : true;
  }
  return tree;
}
