import type { EntityMetadata, ObjectLiteral, QueryRunner } from "typeorm";
import { dataSourceOf } from "../internals/typeorm-internals";
import { isSqliteFamily } from "../version-range";
import { aggregateGraphOf } from "./aggregate-graph";
import { moveRoots } from "./lock-roots-first";
import { rowRef } from "./parent-lookup";
import { RootResolver, type RootRef } from "./root-resolver";

/** Enough for a parent that moved once between the first read and the lock. */
const ROUNDS = 3;

/**
 * For member rows written outside save() (by key or by a condition): moves the version of every
 * root above them, unchecked, once per transaction, roots first in key order. The chains are read
 * before the roots are locked, so they are read once more under the locks (the latest committed
 * rows) and any root that turned up meanwhile is moved too. Runs inside a transaction.
 * `callerReadsAfter`: false when the transaction is the library's own, which reads nothing later
 * (see moveRoots).
 */
export async function moveRootsOfRows(queryRunner: QueryRunner, metadata: EntityMetadata, primaryKeys: ObjectLiteral[], callerReadsAfter: boolean): Promise<void> {
  const dataSource = dataSourceOf(queryRunner);
  const graph = aggregateGraphOf(dataSource);
  const rows = primaryKeys.map((primaryKey) => rowRef(metadata, primaryKey));
  const moved = new Set<string>();
  // SQLite: a transaction whose reads went stale cannot write, so one read is enough.
  const rounds = isSqliteFamily(dataSource.driver.options.type) ? 1 : ROUNDS;
  for (let round = 0; round < rounds; round++) {
    const found = await new RootResolver(graph, queryRunner, [], round > 0).rootsOfRows(rows);
    const fresh = new Map<string, RootRef>();
    for (const roots of found.values()) for (const root of roots) if (!moved.has(root.key)) fresh.set(root.key, root);
    if (round > 0 && fresh.size === 0) return;
    const ordered = [...fresh.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    await moveRoots(queryRunner, ordered.map((ref) => ({ ref, carried: undefined })), [], callerReadsAfter);
    ordered.forEach((root) => moved.add(root.key));
  }
}
