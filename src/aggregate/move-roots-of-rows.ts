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
 * For a member row written outside save() (by key, with its own version checked): moves the
 * version of every root above it, unchecked, once per transaction, roots first in key order. The
 * chain is read before the roots are locked, so it is read once more under the locks (the latest
 * committed rows) and any root that turned up meanwhile is moved too. Runs inside a transaction.
 */
export async function moveRootsOfRow(queryRunner: QueryRunner, metadata: EntityMetadata, primaryKey: ObjectLiteral): Promise<void> {
  const dataSource = dataSourceOf(queryRunner);
  const graph = aggregateGraphOf(dataSource);
  const row = rowRef(metadata, primaryKey);
  const moved = new Set<string>();
  // SQLite: a transaction whose reads went stale cannot write, so one read is enough.
  const rounds = isSqliteFamily(dataSource.driver.options.type) ? 1 : ROUNDS;
  for (let round = 0; round < rounds; round++) {
    const roots = (await new RootResolver(graph, queryRunner, [], round > 0).rootsOfRows([row])).get(row.key) ?? [];
    const fresh: RootRef[] = roots.filter((root) => !moved.has(root.key)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    if (round > 0 && fresh.length === 0) return;
    await moveRoots(queryRunner, fresh.map((ref) => ({ ref, carried: undefined })), []);
    fresh.forEach((root) => moved.add(root.key));
  }
}
