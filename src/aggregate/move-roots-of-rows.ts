import type { EntityMetadata, ObjectLiteral, QueryRunner } from "typeorm";
import { dataSourceOf } from "../internals/typeorm-internals";
import { rowGoneError } from "../stale-lookup";
import { isSqliteFamily } from "../version-range";
import { aggregateGraphOf } from "./aggregate-graph";
import { moveNewRootsUnchecked } from "./lock-roots-first";
import { rowRef, type RowRef } from "./parent-lookup";
import { RootResolver } from "./root-resolver";

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
export async function moveRootsOfRows(queryRunner: QueryRunner, metadata: EntityMetadata, primaryKeys: ObjectLiteral[], callerReadsAfter: boolean): Promise<Map<string, string[]>> {
  return moveRootsAbove(queryRunner, primaryKeys.map((primaryKey) => rowRef(metadata, primaryKey)), callerReadsAfter, false);
}

/**
 * The same for rows of any entities (a root among them is its own root): the roots of a member
 * about to be inserted are those of the parents its values name, moved before the INSERT.
 * `rowsMustExist`: the given rows are parents to write under (a missing one is StaleDataError);
 * otherwise they are the rows about to be written, whose own statement reports them gone.
 * Returns the keys of the roots above each given row (by the row's key), as last read.
 */
export async function moveRootsAbove(queryRunner: QueryRunner, rows: RowRef[], callerReadsAfter: boolean, rowsMustExist: boolean): Promise<Map<string, string[]>> {
  const dataSource = dataSourceOf(queryRunner);
  const graph = aggregateGraphOf(dataSource);
  const moved = new Set<string>();
  // SQLite: a transaction whose reads went stale cannot write, so one read is enough.
  const rounds = isSqliteFamily(dataSource.driver.options.type) ? 1 : ROUNDS;
  const given = new Set(rows.map((row) => row.key));
  const rootsOfRow = new Map<string, string[]>();
  for (let round = 0; round < rounds; round++) {
    const resolver = new RootResolver(graph, queryRunner, [], round > 0);
    const found = await resolver.rootsOfRows(rows);
    for (const [row, roots] of found) rootsOfRow.set(row, roots.map((root) => root.key));
    // A row on the way up is gone (removed meanwhile): StaleDataError, not the foreign-key error the write would hit.
    const [gone] = resolver.missingRows().filter((row) => rowsMustExist || !given.has(row.key));
    if (gone) throw rowGoneError(gone);
    const movedNow = await moveNewRootsUnchecked(queryRunner, [...found.values()].flat(), moved, [], callerReadsAfter);
    if (round > 0 && movedNow === 0) break;
  }
  return rootsOfRow;
}
