import { dataSourceOf } from "../internals/typeorm-internals";
import type { DeepPartial, EntityMetadata, FindOptionsWhere, ObjectLiteral, QueryRunner, Repository } from "typeorm";
import type { ColumnMetadata } from "typeorm/metadata/ColumnMetadata";
import { ConditionNotMetError, TypeOrmCompatibilityError } from "../errors";
import { assertKeyValue, assertKnownProperties, describe, isRecord, invalidArgument, refuseAggregateMember, refused } from "./input-checks";
import { runLibraryStatements } from "./library-statements";
import { writeLockBeforeReads } from "./lock-dialect";
import { aggregateGraphOf } from "../aggregate/aggregate-graph";
import { moveRootsAbove } from "../aggregate/move-roots-of-rows";
import { recordMemberWrite } from "../copies/transaction-writes";
import { primaryKeyValues } from "../version/versioned-metadata";
import { rowRef, type RowRef } from "../aggregate/parent-lookup";

const OPERATION = "insertOnce";
/** A row deleted between our conflict and our read is created anew: this many tries at most. */
const ATTEMPTS = 3;

export interface InsertOnceOptions<T> {
  /**
   * The properties that identify the row: exactly the columns of its primary key, of a unique
   * constraint or of a unique index (e.g. `["idempotencyKey"]`, `["tenant", "reference"]`).
   * `values` must hold a value for each.
   */
  conflictPaths: Array<keyof T & string>;
}

/** The new row's values: any part of the entity (relations by key, e.g. `{ ledger: { id } }`). */
export type InsertOnceValues<T> = DeepPartial<T>;

export interface InsertOnceResult<T> {
  /** The row as stored: the one just inserted (version 1 when versioned), or the one that was already there. */
  entity: T;
  /** `true` when this call inserted the row. */
  created: boolean;
}

/**
 * The idempotent create: inserts the row unless one with the same `conflictPaths` exists, and
 * resolves to the stored row either way — safe to repeat (a retried request, a redelivered
 * message) and safe under concurrency: of many callers racing with one key, exactly one gets
 * `created: true` and all get the same row.
 *
 * PostgreSQL and SQLite: `INSERT … ON CONFLICT (<conflict columns>) DO NOTHING`. MariaDB has no
 * conflict target, and `INSERT IGNORE` would also swallow unrelated errors (truncation, NOT NULL),
 * so there it is a plain `INSERT` whose duplicate-key error on these columns means "exists" (other
 * duplicate keys are rethrown, as the other databases raise them). Then one `SELECT` of the row by
 * its conflict columns (soft-deleted rows included). A version in `values` is refused: new rows start
 * at 1. Joins the caller's transaction when `repository` comes from a transactional manager.
 * A member of an aggregate moves its roots' versions (unchecked) when it is inserted, in one
 * transaction with the INSERT; nothing moves when the row already existed.
 *
 * @example
 * const { entity: deposit, created } = await insertOnce(
 *   deposits,
 *   { idempotencyKey: req.header("Idempotency-Key"), walletId, amount: 50_00 },
 *   { conflictPaths: ["idempotencyKey"] },
 * );
 */
export async function insertOnce<T extends ObjectLiteral, V extends InsertOnceValues<T> = InsertOnceValues<T>>(
  repository: Repository<T>,
  values: V,
  options: InsertOnceOptions<T>,
): Promise<InsertOnceResult<T>> {
  const { metadata, manager } = repository;
  const graph = aggregateGraphOf(dataSourceOf(manager));
  if (graph.junctionOwner(metadata)) refuseAggregateMember(dataSourceOf(manager), metadata, OPERATION);
  const member = graph.isMember(metadata);
  if (!isRecord(values)) throw invalidArgument(metadata.name, OPERATION, `values must be an object, got ${describe(values)}`);
  assertKnownProperties(metadata, OPERATION, values, "values");
  const version = metadata.columns.find((column) => column.isVersion && column.getEntityValue(values) !== undefined);
  if (version)
    throw refused(
      metadata.name,
      OPERATION,
      `values sets ${version.propertyPath}, the version column: a new row always starts at version 1`,
    );
  const conflictColumns = conflictColumnsOf(metadata, values, options);
  const where: ObjectLiteral = {};
  for (const column of conflictColumns) column.setEntityValue(where, column.getEntityValue(values));

  const insertAndRead = async (queryRunner: QueryRunner): Promise<InsertOnceResult<T>> => {
    for (let attempt = 1; ; attempt++) {
      const { created, duplicate } = await insertUnlessConflict(queryRunner, metadata, values, conflictColumns);
      const lockRead = !created && queryRunner.isTransactionActive && isMysql(queryRunner);
      // MariaDB's consistent read would use the transaction's snapshot; a locking read sees the row that conflicted.
      const entity = await queryRunner.manager.findOne<T>(metadata.target, {
        where: where as FindOptionsWhere<T>,
        withDeleted: true,
        ...(lockRead ? { lock: { mode: "pessimistic_read" as const } } : {}),
      });
      if (entity) return { entity, created };
      if (duplicate) throw duplicate; // MariaDB: the duplicate was on another unique key
      if (attempt === ATTEMPTS) {
        throw new ConditionNotMetError({
          entityName: metadata.name,
          operation: OPERATION,
          criteria: where,
          matchedRows: 0,
          expectedRows: undefined,
          rowExists: false,
        });
      }
    }
  };

  return runLibraryStatements(manager, async () => {
    // A member inserted moves its roots (unchecked), in one transaction with the INSERT; a row
    // that already existed changes nothing, so nothing moves. The roots are found from the new
    // row itself, so its parent chain is the one the INSERT wrote.
    if (member) {
      const parents = parentRowsOf(metadata, values);
      return manager.transaction(async (transactional) => {
        const queryRunner = transactional.queryRunner!;
        await writeLockBeforeReads(queryRunner, metadata);
        // An existing row changes nothing: found first, no root moves.
        const existing = await queryRunner.manager.findOne<T>(metadata.target, { where: where as FindOptionsWhere<T>, withDeleted: true });
        if (existing) return { entity: existing, created: false };
        // Roots first, as every writer of an aggregate locks them (a lock taken after the INSERT's
        // foreign-key check would deadlock with them); undone when a racing caller inserted first.
        const notCreated = Symbol("not created");
        try {
          return await transactional.transaction(async (attempt) => {
            const roots = await moveRootsAbove(attempt.queryRunner!, parents, manager.queryRunner !== undefined, true);
            const result = await insertAndRead(attempt.queryRunner!);
            if (!result.created) throw Object.assign(new Error("insertOnce: another caller inserted first"), { [notCreated]: result });
            // A copy of the aggregate read before, holding its collection, lacks the new row (see CopyClaim).
            const identifier = primaryKeyValues(metadata, result.entity);
            recordMemberWrite(attempt.queryRunner!, new Set([...roots.values()].flat()), "insert", { metadata, identifier });
            return result;
          });
        } catch (error) {
          const result = (error as Record<symbol, InsertOnceResult<T> | undefined>)[notCreated];
          if (result) return result;
          throw error;
        }
      });
    }
    const queryRunner = manager.queryRunner ?? dataSourceOf(manager).createQueryRunner();
    try {
      return await insertAndRead(queryRunner);
    } finally {
      if (!manager.queryRunner) await queryRunner.release();
    }
  });
}

function conflictColumnsOf(metadata: EntityMetadata, values: Record<string, unknown>, options: unknown): ColumnMetadata[] {
  const paths = isRecord(options) ? options.conflictPaths : undefined;
  if (!Array.isArray(paths) || paths.length === 0 || !paths.every((path) => typeof path === "string")) {
    throw invalidArgument(
      metadata.name,
      OPERATION,
      `options.conflictPaths must be a non-empty array of property names, got ${describe(paths)}`,
    );
  }
  const columns: ColumnMetadata[] = [];
  for (const path of paths as string[]) {
    const found = metadata.findColumnsWithPropertyPath(path);
    if (found.length === 0)
      throw invalidArgument(metadata.name, OPERATION, `conflictPaths names "${path}", which is not a column of ${metadata.name}`);
    for (const column of found) {
      const value = column.getEntityValue(values);
      if (value === undefined || value === null || typeof value === "function") {
        throw invalidArgument(metadata.name, OPERATION, `values has no value for conflict path ${path}: the row could not be found by it`);
      }
      assertKeyValue(metadata, OPERATION, column, value, `values.${path} (a conflict path)`);
      if (!columns.includes(column)) columns.push(column);
    }
  }
  const same = (candidate: ColumnMetadata[]) =>
    candidate.length === columns.length && candidate.every((column) => columns.includes(column));
  const unique =
    same(metadata.primaryColumns) ||
    metadata.uniques.some((constraint) => same(constraint.columns)) ||
    metadata.indices.some((index) => index.isUnique && !index.where && same(index.columns));
  if (!unique) {
    throw invalidArgument(
      metadata.name,
      OPERATION,
      `conflictPaths ${paths.join(", ")} are not exactly the columns of the primary key, a unique constraint or a unique index: without one the database cannot refuse a second row`,
    );
  }
  return columns;
}

interface InsertOutcome {
  created: boolean;
  /** MariaDB only: the duplicate-key error, rethrown when no row with the conflict columns exists. */
  duplicate?: unknown;
}

async function insertUnlessConflict(
  queryRunner: QueryRunner,
  metadata: EntityMetadata,
  values: ObjectLiteral,
  conflictColumns: ColumnMetadata[],
): Promise<InsertOutcome> {
  const builder = queryRunner.manager
    .createQueryBuilder(queryRunner)
    .insert()
    .into(metadata.target)
    .values(values)
    .updateEntity(false)
    .callListeners(false);
  const mysql = isMysql(queryRunner);
  // Run through the query runner for its affected-row count, which InsertResult does not carry.
  const [insert, parameters] = builder.getQueryAndParameters();
  // Written out rather than through orUpdate([], …), which TypeORM 0.3 turns into no clause at all.
  const target = conflictColumns.map((column) => dataSourceOf(queryRunner).driver.escape(column.databaseName)).join(", ");
  const sql = mysql ? insert : `${insert} ON CONFLICT (${target}) DO NOTHING`;
  try {
    const { affected } = await queryRunner.query(sql, parameters, true);
    if (typeof affected !== "number") {
      throw new TypeOrmCompatibilityError(
        `${metadata.name}: the database driver did not report affected rows, so ${OPERATION} cannot tell whether it inserted`,
      );
    }
    return { created: affected > 0 };
  } catch (error) {
    if (mysql && (error as { driverError?: { errno?: unknown } }).driverError?.errno === 1062) return { created: false, duplicate: error }; // ER_DUP_ENTRY
    throw error;
  }
}

function isMysql(queryRunner: QueryRunner): boolean {
  const type = dataSourceOf(queryRunner).driver.options.type;
  return type === "mysql" || type === "mariadb";
}

/** The parent rows a new member's values name (by relation object or foreign-key column): its roots are theirs. */
function parentRowsOf(metadata: EntityMetadata, values: ObjectLiteral): RowRef[] {
  const rows: RowRef[] = [];
  for (const link of aggregateGraphOf(dataSourceOf(metadata)).parentLinks(metadata)) {
    if (link.kind !== "member-holds-key") continue;
    const primaryKey: ObjectLiteral = {};
    let complete = true;
    for (const column of link.relation.joinColumns) {
      const value: unknown = column.getEntityValue(values);
      if (value === undefined || value === null) complete = false;
      else if (!column.referencedColumn?.isPrimary) {
        throw refused(
          metadata.name,
          OPERATION,
          `its parent ${link.parent.name} is referenced by ${column.referencedColumn?.propertyPath ?? "a column"}, not by its primary key: insert it with save()`,
        );
      } else column.referencedColumn.setEntityValue(primaryKey, value);
    }
    if (complete) rows.push(rowRef(link.parent, primaryKey));
  }
  return rows;
}
