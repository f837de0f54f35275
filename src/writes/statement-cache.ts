import type { EntityMetadata, ObjectLiteral } from "typeorm";
import type { ColumnMetadata } from "typeorm/metadata/ColumnMetadata";

/**
 * The most statement texts kept per entity and cache. A shape holds the SQL of raw function values,
 * so `() => \`stock - ${n}\`` makes a new shape per call: beyond this many, the least recently used
 * text is dropped (and built again when that shape comes back).
 */
export const STATEMENTS_PER_ENTITY = 64;

/**
 * Statement texts built once per entity and shape, for the write paths that skip TypeORM's query
 * builders (which rebuild the text on every call). One cache per write path; least recently used first.
 */
export class StatementCache {
  private readonly byEntity = new WeakMap<EntityMetadata, Map<string, string>>();

  /** The text for this entity and shape, built by `build` the first time (and again after being dropped). */
  text(metadata: EntityMetadata, shape: string, build: () => string): string {
    let byShape = this.byEntity.get(metadata);
    if (!byShape) this.byEntity.set(metadata, (byShape = new Map()));
    let text = byShape.get(shape);
    if (text === undefined) {
      text = build();
      if (byShape.size >= STATEMENTS_PER_ENTITY) byShape.delete(byShape.keys().next().value!);
    } else byShape.delete(shape); // set again below: now the most recently used
    byShape.set(shape, text);
    return text;
  }

  /** How many texts are kept for an entity now (for tests and diagnostics). */
  size(metadata: EntityMetadata): number {
    return this.byEntity.get(metadata)?.size ?? 0;
  }
}

/** `"schema"."table"` as the driver escapes it. */
export function escapedTable(metadata: EntityMetadata, escape: (name: string) => string): string {
  return metadata.tablePath
    .split(".")
    .map((part) => (part === "" ? part : escape(part)))
    .join(".");
}

/**
 * A SET list of values and raw SQL functions: its shape (the columns, and the SQL of functions,
 * which is written into the text) and the values bound as `:occ_c<n>`, prepared by the driver as
 * TypeORM's builder prepares them (transformers, dates, JSON).
 */
export function bindSetList(
  set: ColumnMetadata[],
  values: ObjectLiteral,
  prepare: (value: unknown, column: ColumnMetadata) => unknown,
  parameters: ObjectLiteral,
): string[] {
  return set.map((column, index) => {
    const value: unknown = column.getEntityValue(values);
    if (typeof value === "function") return `${column.databaseName}=${String((value as () => string)())}`;
    parameters[`occ_c${index}`] = prepare(value, column);
    return column.databaseName;
  });
}

/** The assignments of a SET list bound by {@link bindSetList}. */
export function setAssignments(set: ColumnMetadata[], values: ObjectLiteral, escape: (name: string) => string): string[] {
  return set.map((column, index) => {
    const value: unknown = column.getEntityValue(values);
    return `${escape(column.databaseName)} = ${typeof value === "function" ? (value as () => string)() : `:occ_c${index}`}`;
  });
}
