import type { EntityMetadata, ObjectLiteral } from "typeorm";
import type { ColumnMetadata } from "typeorm/metadata/ColumnMetadata";
import { versionDeclarationsOf } from "../metadata/registry";

const cache = new WeakMap<EntityMetadata, ColumnMetadata | null>();

/**
 * The typeorm-occ version column of an entity, or undefined when the entity is not versioned by us
 * (plain entities, and entities using TypeORM's own @VersionColumn, are left to TypeORM).
 */
export function occVersionColumn(metadata: EntityMetadata): ColumnMetadata | undefined {
  let column = cache.get(metadata);
  if (column === undefined) {
    column = metadata.columns.find((candidate) => candidate.isVersion && isDeclaredByUs(candidate, metadata)) ?? null;
    cache.set(metadata, column);
  }
  return column ?? undefined;
}

/** Declared with our decorator: on the entity (or an ancestor), or on the embedded class that holds it. */
function isDeclaredByUs(column: ColumnMetadata, metadata: EntityMetadata): boolean {
  const owner = column.embeddedMetadata ? column.embeddedMetadata.type : metadata.target;
  return versionDeclarationsOf(owner).some((declaration) => declaration.propertyName === column.propertyName);
}

/**
 * A stable string for "this row": entity name plus primary key values. Values are compared as
 * text, so `{ id: 5 }` from an object and `{ id: "5" }` from a driver or a request name one row.
 */
export function rowKey(metadata: EntityMetadata, primaryKey: ObjectLiteral): string {
  const values = metadata.primaryColumns.map((column) => keyPart(column.getEntityValue(primaryKey)));
  return `${metadata.tablePath}:${values.join("\u0000")}`;
}

function keyPart(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value)) return value.toString("hex");
  return typeof value === "object" && value !== null ? JSON.stringify(value) : String(value);
}

/** The primary key of an entity (or identifier map) as a plain `{ property: value }` record. */
export function primaryKeyValues(metadata: EntityMetadata, entity: ObjectLiteral): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const column of metadata.primaryColumns) values[column.propertyPath] = column.getEntityValue(entity);
  return values;
}

export function hasCompletePrimaryKey(metadata: EntityMetadata, entity: ObjectLiteral): boolean {
  return metadata.primaryColumns.every((column) => {
    const value = column.getEntityValue(entity);
    return value !== undefined && value !== null;
  });
}
