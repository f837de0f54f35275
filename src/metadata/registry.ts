/**
 * What the decorators (and `occSchema()` for EntitySchema entities) declared, keyed by what
 * TypeORM's `EntityMetadata.target` is: the class, or the schema's name when an EntitySchema has no
 * `target` class. Declarations only write here; the persistence hook and the metadata validator
 * read it through EntityMetadata.
 */

/** Integer column types a version may use (the driver returns them as JS numbers). */
export const INTEGER_COLUMN_TYPES: ReadonlySet<string> = new Set(["int", "integer", "int4", "int2", "smallint", "mediumint", "tinyint"]);

export interface VersionDeclaration {
  propertyName: string;
  /** The declared column type, when the user gave one. */
  type?: string;
  /** The property's TypeScript type from decorator metadata (`design:type`), when emitted. */
  designType?: Function;
}

export interface AggregateMemberDeclaration {
  /** The member's many-to-one (or owning one-to-one) property that leads to its parent in the aggregate. */
  parentProperty: string;
}

/** A class, or the name of an EntitySchema without a target class. */
export type EntityKey = Function | string;

const versionColumns = new Map<EntityKey, VersionDeclaration[]>();
const aggregateRoots = new Set<EntityKey>();
const aggregateMembers = new Map<EntityKey, AggregateMemberDeclaration[]>();
/** Entities declared through occSchema(), so errors can name what the user wrote. */
const schemaDeclared = new Set<EntityKey>();

export function declareVersionColumn(target: EntityKey, declaration: VersionDeclaration): void {
  const list = versionColumns.get(target) ?? [];
  if (!list.some((existing) => existing.propertyName === declaration.propertyName)) list.push(declaration);
  versionColumns.set(target, list);
}

export function declareAggregateRoot(target: EntityKey): void {
  aggregateRoots.add(target);
}

export function declareAggregateMember(target: EntityKey, declaration: AggregateMemberDeclaration): void {
  const list = aggregateMembers.get(target) ?? [];
  list.push(declaration);
  aggregateMembers.set(target, list);
}

export function declareSchemaEntity(target: EntityKey): void {
  schemaDeclared.add(target);
}

/** True when the entity's declarations came from occSchema() rather than decorators. */
export function isSchemaDeclared(target: EntityKey): boolean {
  return schemaDeclared.has(target);
}

/** Version columns declared on the class and its ancestors (entity inheritance). */
export function versionDeclarationsOf(target: EntityKey): VersionDeclaration[] {
  return collect(target, (cls) => versionColumns.get(cls));
}

export function isDeclaredAggregateRoot(target: EntityKey): boolean {
  return collect(target, (cls) => (aggregateRoots.has(cls) ? [true] : undefined)).length > 0;
}

export function memberDeclarationsOf(target: EntityKey): AggregateMemberDeclaration[] {
  return collect(target, (cls) => aggregateMembers.get(cls));
}

function collect<T>(target: EntityKey, read: (key: EntityKey) => T[] | undefined): T[] {
  if (typeof target !== "function") return read(target) ?? []; // an EntitySchema by name: no inheritance
  const found: T[] = [];
  for (let cls: unknown = target; typeof cls === "function" && cls !== Function.prototype; cls = Object.getPrototypeOf(cls)) {
    found.push(...(read(cls as Function) ?? []));
  }
  return found;
}
