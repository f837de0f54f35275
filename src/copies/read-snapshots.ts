import type { EntityMetadata, ObjectLiteral } from "typeorm";
import { aggregateGraphOf } from "../aggregate/aggregate-graph";
import { dataSourceOf } from "../internals/typeorm-internals";
import { occVersionColumn } from "../versioned-metadata";

/**
 * The column values a copy was read (or last written) with, for the entities whose checked save
 * needs no other read: a versioned row outside every aggregate. When the copy still carries the
 * version it was read at, `WHERE version = :v` proves the row holds exactly these values, so they
 * stand in for TypeORM's pre-load SELECT (what changed is the copy against them). Kept in a WeakMap:
 * a copy the application drops takes its snapshot with it.
 */
const snapshots = new WeakMap<object, ObjectLiteral>();
const eligible = new WeakMap<EntityMetadata, boolean>();

/** Whether copies of this entity are snapshotted: versioned by us, in no aggregate, no tree, no inheritance. */
export function snapshotsCopiesOf(metadata: EntityMetadata): boolean {
  let known = eligible.get(metadata);
  if (known === undefined) {
    const graph = aggregateGraphOf(dataSourceOf(metadata));
    known =
      occVersionColumn(metadata) !== undefined &&
      !graph.isRoot(metadata) &&
      !graph.isMember(metadata) &&
      !metadata.treeType &&
      metadata.inheritancePattern === undefined &&
      metadata.parentEntityMetadata === undefined &&
      metadata.childEntityMetadatas.length === 0;
    eligible.set(metadata, known);
  }
  return known;
}

/** Keeps the copy's column values as they are now (just read, or just written); returns how to put the previous one back. */
export function takeSnapshot(metadata: EntityMetadata, entity: ObjectLiteral): () => void {
  const previous = snapshots.get(entity);
  snapshots.set(entity, copyOfColumns(metadata, entity));
  return () => restore(entity, previous);
}

/** The target holds the source's values (refreshed in place from it): its snapshot is a copy of the source's. */
export function adoptSnapshot(metadata: EntityMetadata, target: object, source: object): void {
  const snapshot = snapshots.get(source);
  if (snapshot) snapshots.set(target, copyOfColumns(metadata, snapshot));
}

function copyOfColumns(metadata: EntityMetadata, entity: ObjectLiteral): ObjectLiteral {
  const snapshot: ObjectLiteral = typeof metadata.target === "function" ? Object.create(metadata.target.prototype as object) : {};
  for (const column of metadata.columns) {
    if (column.relationMetadata || column.isVirtual) continue;
    const value: unknown = column.getEntityValue(entity);
    if (value !== undefined) column.setEntityValue(snapshot, copyOf(value));
  }
  return snapshot;
}

export function snapshotOf(entity: object): ObjectLiteral | undefined {
  return snapshots.get(entity);
}

export function dropSnapshot(entity: object): () => void {
  const previous = snapshots.get(entity);
  snapshots.delete(entity);
  return () => restore(entity, previous);
}

function restore(entity: object, snapshot: ObjectLiteral | undefined): void {
  if (snapshot) snapshots.set(entity, snapshot);
  else snapshots.delete(entity);
}

/** A value the application can't change through the copy: mutable values (dates, buffers, JSON) are copied. */
function copyOf(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (value instanceof Date) return new Date(value.getTime());
  if (Buffer.isBuffer(value)) return Buffer.from(value);
  try {
    return structuredClone(value);
  } catch {
    return JSON.parse(JSON.stringify(value)) as unknown;
  }
}

