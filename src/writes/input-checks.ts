import { FindOperator, type DataSource, type EntityMetadata, type ObjectLiteral } from "typeorm";
import type { ColumnMetadata } from "typeorm/metadata/ColumnMetadata";
import { InvalidArgumentError, UnguardedWriteError } from "../errors";
import { aggregateGraphOf, upwardRelation } from "../aggregate/aggregate-graph";
import { dataSourceOf } from "../internals/typeorm-internals";

/**
 * Checks the write paths of this folder share: every one of them runs before the first statement,
 * so bad input is refused with a typed error and nothing is sent.
 */

/** A write the library cannot guard (a version set by hand, a member written behind its root's back). */
export function refused(entityName: string, operation: string, problem: string): UnguardedWriteError {
  return new UnguardedWriteError(entityName, operation, problem);
}

/** An argument of the wrong shape, type or value: the caller's mistake, whatever the table. */
export function invalidArgument(entityName: string | undefined, operation: string, problem: string): InvalidArgumentError {
  return new InvalidArgumentError(entityName, operation, problem);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** A plain object or an entity instance: something whose own keys are property names. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date) && !(value instanceof FindOperator)
  );
}

export function isFindOperator(value: unknown): value is FindOperator<unknown> {
  return value instanceof FindOperator || (isRecord(value) && value["@instanceof"] === Symbol.for("FindOperator"));
}

/** Operators whose parameters are the values a column is compared with. */
const COMPARING = new Set([
  "equal",
  "not",
  "lessThan",
  "lessThanOrEqual",
  "moreThan",
  "moreThanOrEqual",
  "in",
  "any",
  "between",
  "isNull",
  "and",
  "or",
]);

/**
 * The values a where criterion compares its column with: the value itself, or every value inside
 * its find operators (`In([1, 2])`, `Not(Equal(1))`, `And(MoreThan(1), LessThan(9))`). `undefined`
 * when an operator compares with something else (`Raw()`, `Like()`, array and JSON operators), whose
 * values cannot be checked as the column's.
 */
export function comparedValues(criterion: unknown): unknown[] | undefined {
  if (!isFindOperator(criterion)) return [criterion];
  if (!COMPARING.has(criterion.type)) return undefined;
  if (criterion.type === "isNull") return [];
  if (criterion.child) return comparedValues(criterion.child);
  const inner: unknown[] =
    criterion.type === "and" || criterion.type === "or" || criterion.multipleParameters ? toArray(criterion.value) : [criterion.value];
  const values: unknown[] = [];
  for (const item of inner) {
    const found = isFindOperator(item) ? comparedValues(item) : [item];
    if (!found) return undefined;
    values.push(...found);
  }
  return values;
}

function toArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value];
}

/**
 * Member rows of an aggregate must move their root's version when they change; the write paths
 * here cannot do that yet, so they refuse members instead of writing behind the root's back.
 */
export function refuseAggregateMember(dataSource: DataSource, metadata: EntityMetadata, operation: string): void {
  const graph = aggregateGraphOf(dataSource);
  const owner = graph.junctionOwner(metadata);
  const parents = graph.parentLinks(metadata).map((link) => link.parent.name);
  if (parents.length === 0 && !owner) return;
  throw refused(
    metadata.name,
    operation,
    `it is a member of the aggregate of ${owner?.name ?? parents.join(", ")}, whose version must move with it; ` +
      `member rows are not supported by ${operation} yet: change them through the root with save(), after lockAggregate() when several writers compete`,
  );
}

/**
 * A change of the relation (or foreign-key column) that leads from a member up to its parent moves
 * the row to another aggregate: two roots change, which the write paths here leave to save().
 */
export function refuseMemberMove(metadata: EntityMetadata, operation: string, changes: ObjectLiteral): void {
  for (const link of aggregateGraphOf(dataSourceOf(metadata)).parentLinks(metadata)) {
    if (link.kind !== "member-holds-key") continue;
    const relation = upwardRelation(link);
    const touched =
      (relation && relation.getEntityValue(changes) !== undefined) ||
      link.relation.joinColumns.some((column) => column.getEntityValue(changes) !== undefined);
    if (touched) {
      throw refused(
        metadata.name,
        operation,
        `changes moves it to another ${link.parent.name}: a move changes two aggregates, so make it with save() (both roots' versions move)`,
      );
    }
  }
}

/** Every key must name a column, relation or embedded of the entity (typos would otherwise be ignored). */
export function assertKnownProperties(metadata: EntityMetadata, operation: string, value: Record<string, unknown>, what: string): void {
  for (const key of Object.keys(value)) {
    const known =
      metadata.findColumnWithPropertyPath(key) ?? metadata.findRelationWithPropertyPath(key) ?? metadata.findEmbeddedWithPropertyPath(key);
    if (!known) throw invalidArgument(metadata.name, operation, `${what} names "${key}", which is not a property of ${metadata.name}`);
  }
}

/**
 * TypeORM drops `undefined` from a where clause, so `{ id: undefined }` would match every row;
 * `null` means "no condition" or an error depending on settings. Both are refused, at any depth.
 */
export function assertNoMissingValues(metadata: EntityMetadata, operation: string, where: unknown, path = "where"): void {
  if (where === undefined || where === null) {
    throw invalidArgument(
      metadata.name,
      operation,
      `${path} is ${String(where)}: every criterion needs a value (use IsNull() to match NULL)`,
    );
  }
  if (isFindOperator(where)) {
    if (!where.useParameter) return; // IsNull() and friends carry no value
    const values: unknown[] = where.multipleParameters && Array.isArray(where.value) ? where.value : [where.value];
    values.forEach((value, index) =>
      assertNoMissingValues(metadata, operation, value, where.multipleParameters ? `${path}[${index}]` : path),
    );
    return;
  }
  if (isPlainObject(where)) {
    for (const [key, value] of Object.entries(where)) assertNoMissingValues(metadata, operation, value, `${path}.${key}`);
  }
}

/** A primary key given as its single value (`7`) or as an object (`{ tenant, sku }`), as a where. */
export function primaryKeyWhere(metadata: EntityMetadata, operation: string, primaryKey: unknown): ObjectLiteral {
  const columns = metadata.primaryColumns;
  const byObject = isPlainObject(primaryKey);
  if (!byObject && columns.length > 1) {
    throw invalidArgument(
      metadata.name,
      operation,
      `the primary key has ${columns.length} columns: pass an object with ${columns.map((c) => c.propertyPath).join(", ")}`,
    );
  }
  const where: ObjectLiteral = {};
  for (const column of columns) {
    const value: unknown = byObject ? column.getEntityValue(primaryKey) : primaryKey;
    assertKeyValue(metadata, operation, column, value, `primary key ${column.propertyPath}`);
    column.setEntityValue(where, value);
  }
  if (byObject) {
    const allowed = new Set(columns.map((column) => column.propertyPath.split(".")[0]));
    const extra = Object.keys(primaryKey).filter((key) => !allowed.has(key));
    if (extra.length > 0)
      throw invalidArgument(
        metadata.name,
        operation,
        `the primary key object holds ${extra.join(", ")}, which are not primary key columns`,
      );
  }
  return where;
}

/**
 * A value that names a row by one of its key columns: a string, a finite number, a bigint, a valid
 * Date or bytes (binary keys). Anything else — an object, an array, NaN — would reach the driver,
 * which fails with an error of its own or, worse, matches by the value's text (`[object Object]`).
 * A column with a transformer takes whatever its transformer takes.
 */
export function assertKeyValue(metadata: EntityMetadata, operation: string, column: ColumnMetadata, value: unknown, what: string): void {
  if (column.transformer ? value !== undefined && value !== null : isKeyValue(value)) return;
  throw invalidArgument(
    metadata.name,
    operation,
    `${what} must be a string, a finite number, a bigint, a Date or bytes, got ${describe(value)}`,
  );
}

function isKeyValue(value: unknown): boolean {
  if (typeof value === "number") return Number.isFinite(value);
  if (value instanceof Date) return !Number.isNaN(value.getTime());
  return typeof value === "string" || typeof value === "bigint" || value instanceof Uint8Array;
}

export function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean" || value === null || value === undefined)
    return String(value);
  return Object.prototype.toString.call(value);
}

/**
 * The SET list of an UPDATE from the caller's changes: known properties with values, relations an
 * UPDATE of this table can set, and none of the primary key, the version (it moves by itself) or
 * columns the database computes or TypeORM never updates.
 */
export function assertSettableChanges(
  metadata: EntityMetadata,
  operation: string,
  changes: unknown,
): asserts changes is Record<string, unknown> {
  if (!isPlainObject(changes)) throw invalidArgument(metadata.name, operation, `changes must be an object, got ${describe(changes)}`);
  assertKnownProperties(metadata, operation, changes, "changes");
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) throw invalidArgument(metadata.name, operation, `changes.${key} is undefined`);
    const relation = metadata.findRelationWithPropertyPath(key);
    if (relation && !relation.isManyToOne && !relation.isOneToOneOwner) {
      throw invalidArgument(
        metadata.name,
        operation,
        `changes.${key} is a ${relation.relationType} relation, which an UPDATE of this table cannot set`,
      );
    }
  }
  const touched = metadata.columns.filter((column) => column.getEntityValue(changes) !== undefined);
  if (touched.length === 0) throw invalidArgument(metadata.name, operation, "changes is empty: nothing to set");
  for (const column of touched) {
    const name = column.propertyPath;
    if (column.isPrimary)
      throw invalidArgument(
        metadata.name,
        operation,
        `changes sets ${name}, a primary key column: a row's identity is not changed in place`,
      );
    if (column.isVersion)
      throw refused(
        metadata.name,
        operation,
        `changes sets ${name}, the version column: ${operation} moves it by itself, by 1, in the same statement`,
      );
    if (!column.isUpdate || column.isVirtualProperty || column.generatedType) {
      throw invalidArgument(metadata.name, operation, `changes sets ${name}, which the database computes or TypeORM never updates`);
    }
  }
}
