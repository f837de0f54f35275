import type { EntityMetadata, ObjectLiteral, QueryRunner } from "typeorm";
import { dataSourceOf } from "../internals/typeorm-internals";
import { rowGoneError } from "../persistence/stale-lookup";
import { isSqliteFamily } from "../version/version-range";
import { aggregateGraphOf } from "./aggregate-graph";
import { moveNewRootsUnchecked, moveRoots } from "./lock-roots-first";
import { rowRef, type RowRef } from "./parent-lookup";
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
export async function moveRootsOfRows(
  queryRunner: QueryRunner,
  metadata: EntityMetadata,
  primaryKeys: ObjectLiteral[],
  callerReadsAfter: boolean,
  carried: CarriedRoot[] = [],
): Promise<Map<string, string[]>> {
  return moveRootsAbove(
    queryRunner,
    primaryKeys.map((primaryKey) => rowRef(metadata, primaryKey)),
    callerReadsAfter,
    false,
    carried,
  );
}

/** A root whose version the caller read with the rows (`{ id, version, order: { id, version } }`): its move is checked. */
export interface CarriedRoot {
  ref: RootRef;
  version: number;
}

/**
 * The same for rows of any entities (a root among them is its own root): the roots of a member
 * about to be inserted are those of the parents its values name, moved before the INSERT.
 * `rowsMustExist`: the given rows are parents to write under (a missing one is StaleDataError);
 * otherwise they are the rows about to be written, whose own statement reports them gone.
 * `carried`: roots the caller read a version of, moved first and checked against it (StaleDataError
 * when they moved since). Returns the keys of the roots above each given row (by the row's key), as last read (the
 * caller tells from them whether a carried root is really the row's).
 */
export async function moveRootsAbove(
  queryRunner: QueryRunner,
  rows: RowRef[],
  callerReadsAfter: boolean,
  rowsMustExist: boolean,
  carried: CarriedRoot[] = [],
): Promise<Map<string, string[]>> {
  const dataSource = dataSourceOf(queryRunner);
  const graph = aggregateGraphOf(dataSource);
  const moved = new Set<string>();
  const checked = [...carried].sort((a, b) => (a.ref.key < b.ref.key ? -1 : a.ref.key > b.ref.key ? 1 : 0));
  await moveRoots(
    queryRunner,
    checked.map(({ ref, version }) => ({ ref, carried: version })),
    [],
    callerReadsAfter,
  );
  checked.forEach(({ ref }) => moved.add(ref.key));
  // SQLite: a transaction whose reads went stale cannot write, so one read is enough.
  const rounds = isSqliteFamily(dataSource.driver.options.type) ? 1 : ROUNDS;
  const given = new Set(rows.map((row) => row.key));
  const rootsOfRow = new Map<string, string[]>();
  for (let round = 0; round < rounds; round++) {
    const resolver = new RootResolver(graph, queryRunner, [], round > 0);
    const found = await resolver.rootsOfRows(rows);
    for (const [row, roots] of found)
      rootsOfRow.set(
        row,
        roots.map((root) => root.key),
      );
    // A row on the way up is gone (removed meanwhile): StaleDataError, not the foreign-key error the write would hit.
    const [gone] = resolver.missingRows().filter((row) => rowsMustExist || !given.has(row.key));
    if (gone) throw rowGoneError(gone);
    const movedNow = await moveNewRootsUnchecked(queryRunner, [...found.values()].flat(), moved, [], callerReadsAfter);
    if (round > 0 && movedNow === 0) break;
  }
  return rootsOfRow;
}
