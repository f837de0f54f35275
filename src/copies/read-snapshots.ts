import type { EntityMetadata, ObjectLiteral } from "typeorm";
import type { RelationMetadata } from "typeorm/metadata/RelationMetadata";
import { aggregateGraphOf, type AggregateGraph } from "../aggregate/aggregate-graph";
import { dataSourceOf } from "../internals/typeorm-internals";
import { occVersionColumn } from "../version/versioned-metadata";

/**
 * The column values a copy was read (or last written) with, and the keys of the related rows it
 * held (as TypeORM's pre-load loads them: `{ id }` maps), for the rows whose checked save needs no
 * other read: versioned rows, and the roots and members of aggregates. When the copy still carries
 * the version it was read at — its own, or for a member its root's — the checked write proves the row
 * (the whole aggregate) still holds exactly these values, so they stand in for TypeORM's pre-load
 * SELECT (what changed is the copy against them). Kept in a WeakMap: a copy the application drops
 * takes its snapshot with it.
 */
const snapshots = new WeakMap<object, ObjectLiteral>();
const eligible = new WeakMap<EntityMetadata, boolean>();

/**
 * Whether copies of this entity are snapshotted: versioned by us or inside an aggregate (not a
 * junction table); no tree, no inheritance, no lazy relation, relations by primary key only.
 */
export function snapshotsCopiesOf(metadata: EntityMetadata): boolean {
  let known = eligible.get(metadata);
  if (known === undefined) {
    const graph = aggregateGraphOf(dataSourceOf(metadata));
    known =
      (occVersionColumn(metadata) !== undefined || graph.isMember(metadata)) &&
      !graph.junctionOwner(metadata) &&
      // A transformer's value is compared in its database form: a copy of the entity's form (a class instance) is not that.
      metadata.columns.every((column) => !column.transformer) &&
      !metadata.treeType &&
      metadata.relations.every(
        (relation) => !relation.isLazy && relation.joinColumns.every((column) => column.referencedColumn?.isPrimary !== false),
      ) &&
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
    // A join column is kept through its relation, unless it has a property of its own (`shelfId` beside `shelf`).
    if ((column.relationMetadata && column.propertyName === column.relationMetadata.propertyName) || column.isVirtual) continue;
    const value: unknown = column.getEntityValue(entity);
    if (value !== undefined) column.setEntityValue(snapshot, copyOf(value));
  }
  // Related rows as keys, the shape TypeORM's pre-load gives them, for the relations the version
  // check covers; a relation not held, or not covered, is left out (TypeORM then loads the row).
  const graph = aggregateGraphOf(dataSourceOf(metadata));
  for (const relation of metadata.relations) {
    if (!coveredByVersion(graph, metadata, relation)) continue;
    const value: unknown = relation.getEntityValue(entity);
    if (value === undefined) continue;
    const keys = (Array.isArray(value) ? value : [value]).map((related) => keyOf(relation.inverseEntityMetadata, related));
    if (keys.some((key) => key === undefined)) continue;
    relation.setEntityValue(snapshot, Array.isArray(value) ? keys : keys[0]);
  }
  return snapshot;
}

/**
 * Whether the rows the relation holds can change only by moving the version the copy's write checks:
 * a key stored in the row itself (many-to-one, the owning side of a one-to-one), or — for a root
 * or member — members of its aggregate and its own many-to-many links. Children of a plain entity,
 * or its links, move in rows of their own and move no version of this row.
 */
function coveredByVersion(graph: AggregateGraph, metadata: EntityMetadata, relation: RelationMetadata): boolean {
  if ((relation.isManyToOne || relation.isOneToOneOwner) && relation.joinColumns.length > 0) return true;
  if (graph.memberRelations(metadata).includes(relation)) return true;
  const junction = relation.junctionEntityMetadata;
  return relation.isManyToMany && junction !== undefined && graph.junctionOwner(junction) === metadata;
}

/** `{ id }` of a related row (null for none); undefined when it has no complete key yet. */
function keyOf(metadata: EntityMetadata, related: unknown): ObjectLiteral | null | undefined {
  if (related === null) return null;
  if (!related || typeof related !== "object") return undefined;
  return metadata.getEntityIdMap(related as ObjectLiteral);
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
