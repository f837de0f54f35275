import { dataSourceOf } from "../internals/typeorm-internals";
import type { EntityManager, EntityMetadata, FindOptionsWhere, ObjectLiteral, QueryRunner, Repository } from "typeorm";
import type { ColumnMetadata } from "typeorm/metadata/ColumnMetadata";
import { ConditionNotMetError } from "../errors";
import { CalculatedChange } from "./calculated-change";
import {
  assertKeyValue,
  assertKnownProperties,
  comparedValues,
  assertNoMissingValues,
  assertSettableChanges,
  describe,
  isPlainObject,
  refuseAggregateMember,
  refuseMemberMove,
  invalidArgument,
} from "./input-checks";
import { matchedRows, runLibraryStatements } from "./library-statements";
import { sendConditionalUpdate } from "./conditional-statement";
import { rowExists } from "./row-exists";
import { aggregateGraphOf } from "../aggregate/aggregate-graph";
import { moveRootsOfRows } from "../aggregate/move-roots-of-rows";
import { recordMemberWrite, recordRowWrite } from "../copies/transaction-writes";
import { writeLockBeforeReads } from "./lock-dialect";
import { assertStorableVersion } from "../version/version-range";
import { occVersionColumn, rowKey } from "../version/versioned-metadata";

const OPERATION = "updateIf";
/** Keys per UPDATE when a member update is limited to the rows whose roots moved. */
const ROWS_PER_STATEMENT = 1_000;

/**
 * What `updateIf` may set: plain values, SQL expressions (`() => "balance - 100"`, written into
 * the statement as is: never build one from user input), and for numeric columns
 * `increment(n)` / `decrement(n)`, which bind the amount as a parameter (allowed by the type on
 * string properties too, for decimal columns read as strings; checked against the column type).
 */
export type UpdateIfChanges<T> = {
  [P in keyof T]?: T[P] | (() => string) | (NonNullable<T[P]> extends number | bigint | string ? CalculatedChange : never);
};

export interface UpdateIfOptions {
  /**
   * Exactly this many rows must match (a positive whole number); fewer or more raise
   * `ConditionNotMetError` and nothing is written: the UPDATE then runs in a transaction of its
   * own (a savepoint inside the caller's), so a count above it is rolled back. Defaults to "at
   * least one row", which needs no transaction.
   */
  expectedRows?: number;
}

export interface UpdateIfResult {
  /** Rows the UPDATE matched (and changed). */
  affected: number;
}

const INTEGER_TYPES = new Set(["tinyint", "smallint", "mediumint", "int", "integer", "bigint", "int2", "int4", "int8"]);
const NUMERIC_TYPES = new Set([
  ...INTEGER_TYPES,
  "decimal",
  "numeric",
  "dec",
  "fixed",
  "real",
  "float",
  "float4",
  "float8",
  "double",
  "double precision",
]);

/**
 * The calculated, conditional update: one `UPDATE … SET … WHERE …`, nothing read before it. The
 * database evaluates the condition and the new values together, so concurrent callers cannot
 * both pass a check that only one of them should pass (two withdrawals from one balance). When no
 * row matches, `ConditionNotMetError` says whether the row exists at all (read only then).
 *
 * `where` is TypeORM's find-where syntax, one object (`undefined`/`null` values are refused: TypeORM
 * would drop them and widen the update). On an entity with typeorm-occ's `@VersionColumn()` the
 * version moves by 1 in the same statement, so every holder of the row goes stale. Changes may not
 * touch the version or the primary key. Joins the caller's transaction when `repository` comes from
 * a transactional manager. Rows of aggregate members move their roots' versions too (unchecked,
 * in one transaction with the UPDATE, after one SELECT of the matching rows' keys); changes that
 * would move a member to another parent are refused. Entity listeners and subscribers' update events do not
 * fire, as for the statements save() issues.
 *
 * @example
 * import { MoreThanOrEqual } from "typeorm";
 * import { decrement, updateIf } from "typeorm-occ";
 *
 * // UPDATE wallet SET balance = balance - $1, version = version + 1 WHERE id = $2 AND balance >= $3
 * await updateIf(wallets, { id, balance: MoreThanOrEqual(100) }, { balance: decrement(100) });
 */
export async function updateIf<T extends ObjectLiteral>(
  repository: Repository<T>,
  where: FindOptionsWhere<T>,
  changes: UpdateIfChanges<T>,
  options?: UpdateIfOptions,
): Promise<UpdateIfResult> {
  const { metadata, manager } = repository;
  const graph = aggregateGraphOf(dataSourceOf(manager));
  if (graph.junctionOwner(metadata)) refuseAggregateMember(dataSourceOf(manager), metadata, OPERATION);
  const member = graph.isMember(metadata);
  const expectedRows = expectedRowsOf(metadata, options);
  checkWhere(metadata, where);
  const { values, parameters } = valuesToSet(metadata, changes, manager);
  if (member) refuseMemberMove(metadata, OPERATION, values);

  const notMet = async (runner: EntityManager, affected: number) =>
    new ConditionNotMetError({
      entityName: metadata.name,
      operation: OPERATION,
      criteria: where as Record<string, unknown>,
      matchedRows: affected,
      expectedRows,
      rowExists: affected > 0 ? true : await rowExists(runner, metadata, where),
    });
  const update = async (runner: EntityManager, onlyRows?: ObjectLiteral[]): Promise<UpdateIfResult> => {
    const fast = onlyRows
      ? undefined
      : await withQueryRunner(runner, (queryRunner) => sendConditionalUpdate(queryRunner, metadata, where, values, parameters));
    if (fast !== undefined) {
      if (expectedRows === undefined ? fast > 0 : fast === expectedRows) return { affected: fast };
      throw await notMet(runner, fast);
    }
    let affected = 0;
    // Limited to given rows: in chunks, within every database's bound-parameter limit (they share one transaction).
    for (let start = 0; start < (onlyRows?.length ?? 1); start += ROWS_PER_STATEMENT) {
      const query = runner
        .createQueryBuilder()
        .update(metadata.target)
        .set(values)
        .where(where)
        .setParameters(parameters)
        .updateEntity(false)
        .callListeners(false);
      if (onlyRows) query.andWhereInIds(onlyRows.slice(start, start + ROWS_PER_STATEMENT));
      affected += matchedRows(await query.execute(), metadata.name, OPERATION);
    }
    if (expectedRows === undefined ? affected > 0 : affected === expectedRows) return { affected };
    throw await notMet(runner, affected);
  };
  // A member's roots move first, in one transaction with it: the rows the condition matches now
  // are found, their roots locked, and the UPDATE limited to those rows (re-checking the condition),
  // so no row whose root was not moved can be written.
  const updateMembers = async (runner: EntityManager): Promise<UpdateIfResult> => {
    await writeLockBeforeReads(runner.queryRunner!, metadata);
    const rows = await matchingRows(runner, metadata, where);
    if (rows.length === 0 || (expectedRows !== undefined && rows.length < expectedRows)) throw await notMet(runner, rows.length);
    const roots = await moveRootsOfRows(runner.queryRunner!, metadata, rows, manager.queryRunner !== undefined);
    const result = await update(runner, rows);
    // Copies read before this write no longer show these rows (see CopyClaim).
    for (const row of rows) {
      recordRowWrite(runner.queryRunner!, metadata, row);
      recordMemberWrite(runner.queryRunner!, roots.get(rowKey(metadata, row)) ?? [], "update", { metadata, identifier: row });
    }
    return result;
  };
  return runLibraryStatements(manager, () =>
    member
      ? manager.transaction(updateMembers)
      : expectedRows === undefined
        ? update(manager)
        : manager.transaction((runner) => update(runner)),
  );
}

/** Runs `work` on the manager's query runner, or on one of its own (released after). */
async function withQueryRunner<R>(manager: EntityManager, work: (queryRunner: QueryRunner) => Promise<R>): Promise<R> {
  if (manager.queryRunner) return work(manager.queryRunner);
  const queryRunner = dataSourceOf(manager).createQueryRunner();
  try {
    return await work(queryRunner);
  } finally {
    await queryRunner.release();
  }
}

/** The primary keys of the rows `where` matches now (soft-deleted ones too, as an UPDATE would). */
async function matchingRows(runner: EntityManager, metadata: EntityMetadata, where: ObjectLiteral): Promise<ObjectLiteral[]> {
  const alias = "occ_row";
  const found = await runner
    .createQueryBuilder(metadata.target, alias)
    .withDeleted()
    .select(metadata.primaryColumns.map((column) => `${alias}.${column.propertyPath}`))
    .where(where)
    .getMany();
  return found.map((entity) => metadata.getEntityIdMap(entity) ?? entity);
}

function expectedRowsOf(metadata: EntityMetadata, options: UpdateIfOptions | undefined): number | undefined {
  if (options === undefined) return undefined;
  if (!isPlainObject(options)) throw invalidArgument(metadata.name, OPERATION, `options must be an object, got ${describe(options)}`);
  const unknown = Object.keys(options).filter((key) => key !== "expectedRows");
  if (unknown.length > 0) throw invalidArgument(metadata.name, OPERATION, `unknown option ${unknown.join(", ")} (expected expectedRows)`);
  const expectedRows: unknown = options.expectedRows;
  if (expectedRows === undefined) return undefined;
  if (typeof expectedRows !== "number" || !Number.isSafeInteger(expectedRows) || expectedRows <= 0) {
    throw invalidArgument(metadata.name, OPERATION, `expectedRows must be a positive whole number, got ${describe(expectedRows)}`);
  }
  return expectedRows;
}

function checkWhere(metadata: EntityMetadata, where: unknown): asserts where is ObjectLiteral {
  if (!isPlainObject(where)) {
    throw invalidArgument(
      metadata.name,
      OPERATION,
      `where must be one find-where object, got ${Array.isArray(where) ? "an array" : describe(where)}`,
    );
  }
  if (Object.keys(where).length === 0) throw invalidArgument(metadata.name, OPERATION, "where is empty: it would update every row");
  assertKnownProperties(metadata, OPERATION, where, "where");
  assertNoMissingValues(metadata, OPERATION, where);
  // An UPDATE cannot join: a related row is named by its primary key only (TypeORM would fail with "Cannot find alias").
  for (const [key, value] of Object.entries(where)) {
    const relation = metadata.findRelationWithPropertyPath(key);
    if (!relation || !isPlainObject(value)) continue;
    const keys = new Set(relation.inverseEntityMetadata.primaryColumns.map((column) => column.propertyPath));
    const other = Object.keys(value).filter((name) => !keys.has(name));
    if (other.length > 0) {
      throw invalidArgument(
        metadata.name,
        OPERATION,
        `where.${key} filters by ${other.join(", ")} of the related ${relation.inverseEntityMetadata.name}; an UPDATE can only match it by primary key (${[...keys].join(", ")})`,
      );
    }
  }
  // Key values of the wrong shape (an object, an array) would reach the driver, plain or inside an operator.
  for (const column of metadata.primaryColumns) {
    const criterion: unknown = column.getEntityValue(where);
    if (criterion === undefined) continue;
    for (const value of comparedValues(criterion) ?? []) assertKeyValue(metadata, OPERATION, column, value, `where.${column.propertyPath}`);
  }
  // The version, plain or inside operators (Equal("1"), In([1.5]), Not(Equal(NaN))), is a version
  // like any other: a string or a value beyond the column's range is a typed error, not a match or
  // the driver's out-of-range error. Operators that compare with something else can't be checked.
  const version = occVersionColumn(metadata);
  const expected: unknown = version?.getEntityValue(where);
  if (!version || expected === undefined) return;
  const values = comparedValues(expected);
  if (!values) {
    throw invalidArgument(
      metadata.name,
      OPERATION,
      `where.${version.propertyPath} uses ${(expected as { type: string }).type}(), whose value typeorm-occ cannot check as a version: compare the version with a number, or Equal / Not / In / Between / LessThan / MoreThan … of numbers`,
    );
  }
  for (const value of values) assertStorableVersion(metadata, version, value);
}

/** The SET list for TypeORM's update builder, plus the parameters of calculated changes. */
function valuesToSet(metadata: EntityMetadata, changes: unknown, manager: EntityManager) {
  assertSettableChanges(metadata, OPERATION, changes);
  const values = copyPlain(changes);
  const parameters: Record<string, unknown> = {};
  const escape = (name: string) => dataSourceOf(manager).driver.escape(name);
  for (const column of metadata.columns) {
    const value: unknown = column.getEntityValue(changes);
    if (value instanceof CalculatedChange) {
      const parameter = `occ_change_${Object.keys(parameters).length}`;
      parameters[parameter] = amountOf(metadata, column, manager, value);
      column.setEntityValue(values, () => `${escape(column.databaseName)} ${value.operator} :${parameter}`);
    }
  }
  const version = metadata.versionColumn;
  if (version) version.setEntityValue(values, () => `${escape(version.databaseName)} + 1`);
  return { values, parameters };
}

function amountOf(metadata: EntityMetadata, column: ColumnMetadata, manager: EntityManager, change: CalculatedChange): number {
  const type = dataSourceOf(manager).driver.normalizeType(column).toLowerCase();
  const helper = change.operator === "+" ? "increment" : "decrement";
  if (!NUMERIC_TYPES.has(type))
    throw invalidArgument(metadata.name, OPERATION, `${helper}() on ${column.propertyPath}, a ${type} column: it needs a numeric column`);
  const amount = change.amount;
  const integer = INTEGER_TYPES.has(type);
  if (typeof amount !== "number" || !Number.isFinite(amount) || amount < 0 || (integer && !Number.isSafeInteger(amount))) {
    throw invalidArgument(
      metadata.name,
      OPERATION,
      `${helper}() amount for ${column.propertyPath} must be a finite number ≥ 0${integer ? " and a safe integer for this integer column" : ""}, got ${describe(amount)}` +
        (typeof amount === "number" && amount < 0
          ? ` (use ${change.operator === "+" ? "decrement" : "increment"}() instead of a negative amount)`
          : ""),
    );
  }
  return amount;
}

/** A copy of the plain objects of `changes` (embedded columns), so the caller's object is never touched. */
function copyPlain(value: Record<string, unknown>): ObjectLiteral {
  const copy: ObjectLiteral = {};
  for (const [key, inner] of Object.entries(value)) copy[key] = isPlainObject(inner) ? copyPlain(inner) : inner;
  return copy;
}
