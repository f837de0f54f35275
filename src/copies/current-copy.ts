import type { EntityMetadata, ObjectLiteral, QueryRunner } from "typeorm";
import type { ColumnMetadata } from "typeorm/metadata/ColumnMetadata";
import { aggregateGraphOf, type AggregateGraph } from "../aggregate/aggregate-graph";
import type { StaleOperation } from "../errors";
import { dataSourceOf } from "../internals/typeorm-internals";
import { staleErrorFromVersion } from "../persistence/stale-lookup";
import { transactionStateOf, type RowWrite } from "../transaction/transaction-state";
import { hasCompletePrimaryKey, primaryKeyValues, rowKey } from "../version/versioned-metadata";
import { readStampOf } from "./read-stamps";

/** A write's claim that a row still holds what one copy of it was read as. */
export interface CopyClaim {
  metadata: EntityMetadata;
  versionColumn: ColumnMetadata;
  identifier: ObjectLiteral;
  /** The version the copy carries. */
  carried: number;
  /** The object carrying it; undefined for a key built by hand (`updateVersioned`'s `{ id, version }`). */
  copy: ObjectLiteral | undefined;
  /** Rows of the copy's aggregate the write takes data from beside the copy (the members one save writes). */
  members?: { object: ObjectLiteral; metadata: EntityMetadata }[];
  operation: StaleOperation;
}

/**
 * The version a write must find for the claim, in the transaction open on `queryRunner`: the
 * version the copy carries, or the one this transaction moved the row to when the copy holds the
 * version from before that move (a version moves once per transaction). That mapping is right only
 * for a copy that shows everything the transaction wrote since: a copy read before the
 * transaction's own write to the row, or to a row of its aggregate that the copy carries, raises
 * `StaleDataError` here, before anything is sent.
 */
export function expectedVersion(queryRunner: QueryRunner, claim: CopyClaim): number {
  const state = transactionStateOf(queryRunner);
  const key = rowKey(claim.metadata, claim.identifier);
  const moved = state.movedVersion(key);
  const writes = queryRunner.isTransactionActive ? state.writesTo(key) : [];
  const missed =
    writes.length > 0 ? firstMissed(aggregateGraphOf(dataSourceOf(queryRunner)), state.token, claim, moved?.to, writes) : undefined;
  if (missed) {
    throw staleErrorFromVersion(
      { ...claim, expectedVersion: claim.carried, entity: claim.copy, reason: describeMiss(claim, missed) },
      moved?.to ?? null,
    );
  }
  return state.currentVersion(key, claim.carried);
}

function describeMiss(claim: CopyClaim, write: RowWrite): string {
  const copy = claim.copy && readStampOf(claim.copy) ? "the copy was read" : "the version given was read";
  if (write.kind === "row") return `${copy} before this transaction's own write to that row; reload it inside the transaction`;
  const { member } = write;
  const which = member.key
    ? `${member.metadata.name}#${member.key
        .slice(member.key.indexOf(":") + 1)
        .split("\u0000")
        .join(",")}`
    : `a ${member.metadata.name}`;
  return `${copy} before this transaction ${write.change === "insert" ? "added" : write.change === "delete" ? "removed" : "changed"} ${which} in its aggregate, and it carries that part; reload it inside the transaction`;
}

/** The first write of this transaction to the row that the claim's copy does not show, if any. */
function firstMissed(
  graph: AggregateGraph,
  transaction: object,
  claim: CopyClaim,
  movedTo: number | undefined,
  writes: RowWrite[],
): RowWrite | undefined {
  // A key or object built by hand that names the version this transaction wrote took it from the
  // transaction's own result: it claims to know that write (the claim is all there is to judge).
  if ((!claim.copy || !readStampOf(claim.copy)) && movedTo !== undefined && claim.carried === movedTo) return undefined;
  const sees = (object: object | undefined, seq: number): boolean => {
    const stamp = object ? readStampOf(object) : undefined;
    return stamp !== undefined && stamp.transaction === transaction && stamp.seq > seq;
  };
  let tree: CopyTree | undefined;
  for (const write of writes) {
    if (write.kind === "row") {
      if (!sees(claim.copy, write.seq)) return write;
      continue;
    }
    tree ??= copyTree(graph, [...(claim.copy ? [{ object: claim.copy, metadata: claim.metadata }] : []), ...(claim.members ?? [])]);
    if (treeMisses(tree, write, sees)) return write;
  }
  return undefined;
}

/** The rows of an aggregate one copy holds, by key and by table, and the tables whose collections it holds. */
interface CopyTree {
  rows: Map<string, object[]>;
  byTable: Map<string, object[]>;
  loadedTables: Set<string>;
  /** Junction tables of many-to-many relations the copy holds: it holds every link, so any change to them is one it misses. */
  junctionTables: Set<string>;
}

function copyTree(graph: AggregateGraph, start: { object: ObjectLiteral; metadata: EntityMetadata }[]): CopyTree {
  const tree: CopyTree = { rows: new Map(), byTable: new Map(), loadedTables: new Set(), junctionTables: new Set() };
  const pending = [...start];
  const seen = new Set<object>();
  while (pending.length > 0) {
    const { object, metadata } = pending.pop()!;
    if (seen.has(object)) continue;
    seen.add(object);
    if (hasCompletePrimaryKey(metadata, object)) push(tree.rows, rowKey(metadata, primaryKeyValues(metadata, object)), object);
    push(tree.byTable, metadata.tablePath, object);
    for (const relation of metadata.manyToManyRelations) {
      const junction = relation.junctionEntityMetadata ?? relation.inverseRelation?.junctionEntityMetadata;
      if (junction && relation.getEntityValue(object) !== undefined) tree.junctionTables.add(junction.tablePath);
    }
    for (const relation of graph.memberRelations(metadata)) {
      if (relation.isLazy && !Object.prototype.hasOwnProperty.call(object, relation.propertyName)) continue;
      const value: unknown = relation.getEntityValue(object);
      if (value === undefined) continue;
      tree.loadedTables.add(relation.inverseEntityMetadata.tablePath);
      for (const child of Array.isArray(value) ? value : [value]) {
        if (child && typeof child === "object") pending.push({ object: child as ObjectLiteral, metadata: relation.inverseEntityMetadata });
      }
    }
  }
  return tree;
}

function push(map: Map<string, object[]>, key: string, object: object): void {
  const list = map.get(key);
  if (list) list.push(object);
  else map.set(key, [object]);
}

/**
 * A member row changed by this transaction, judged against what the copy holds: a row it holds
 * from before that change (changed or removed since), or a collection it holds without a row added
 * since, would be written back over the transaction's own write (or detach the new row).
 */
function treeMisses(tree: CopyTree, write: Extract<RowWrite, { kind: "member" }>, sees: (object: object, seq: number) => boolean): boolean {
  const { key, metadata } = write.member;
  if (tree.junctionTables.has(metadata.tablePath)) return true;
  const held = key ? (tree.rows.get(key) ?? []) : (tree.byTable.get(metadata.tablePath) ?? []);
  if (write.change === "insert") return tree.loadedTables.has(metadata.tablePath) && (key === undefined || held.length === 0);
  return held.some((object) => !sees(object, write.seq));
}
