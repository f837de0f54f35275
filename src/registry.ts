/**
 * What the decorators declared, keyed by class. Decorators only write here; the persistence hook
 * and the metadata validator read it through TypeORM's EntityMetadata (whose `target` is the class).
 */

/** Integer column types a version may use (the driver returns them as JS numbers). */
export const INTEGER_COLUMN_TYPES: ReadonlySet<string> = new Set([
  "int",
  "integer",
  "int4",
  "int2",
  "smallint",
  "mediumint",
  "tinyint",
]);

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

const versionColumns = new Map<Function, VersionDeclaration[]>();
const aggregateRoots = new Set<Function>();
const aggregateMembers = new Map<Function, AggregateMemberDeclaration[]>();

export function declareVersionColumn(target: Function, declaration: VersionDeclaration): void {
  const list = versionColumns.get(target) ?? [];
  if (!list.some((existing) => existing.propertyName === declaration.propertyName)) list.push(declaration);
  versionColumns.set(target, list);
}

export function declareAggregateRoot(target: Function): void {
  aggregateRoots.add(target);
}

export function declareAggregateMember(target: Function, declaration: AggregateMemberDeclaration): void {
  const list = aggregateMembers.get(target) ?? [];
  list.push(declaration);
  aggregateMembers.set(target, list);
}

/** Version columns declared on the class and its ancestors (entity inheritance). */
export function versionDeclarationsOf(target: Function | string): VersionDeclaration[] {
  return collect(target, (cls) => versionColumns.get(cls));
}

export function isDeclaredAggregateRoot(target: Function | string): boolean {
  return collect(target, (cls) => (aggregateRoots.has(cls) ? [true] : undefined)).length > 0;
}

export function memberDeclarationsOf(target: Function | string): AggregateMemberDeclaration[] {
  return collect(target, (cls) => aggregateMembers.get(cls));
}

function collect<T>(target: Function | string, read: (cls: Function) => T[] | undefined): T[] {
  if (typeof target !== "function") return []; // entity schemas by name carry no decorators
  const found: T[] = [];
  for (let cls: unknown = target; typeof cls === "function" && cls !== Function.prototype; cls = Object.getPrototypeOf(cls)) {
    found.push(...(read(cls as Function) ?? []));
  }
  return found;
}
