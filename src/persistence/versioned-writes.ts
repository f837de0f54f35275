import type { EntityMetadata, ObjectLiteral, QueryRunner, UpdateResult, DeleteResult } from "typeorm";
import { dataSourceOf } from "../internals/typeorm-internals";
import type { ColumnMetadata } from "typeorm/metadata/ColumnMetadata";
import { deleteBatches } from "./delete-batches";
import { TypeOrmCompatibilityError, type StaleOperation } from "../errors";
import { readVersions, staleDataError, staleErrorFromVersion, type StaleWrite } from "./stale-lookup";
import { setColumnValue } from "./value-maps";
import { rowKey } from "../version/versioned-metadata";

/**
 * The statements typeorm-occ issues. Each carries the expected version in its WHERE clause, so the
 * check and the write are one atomic statement: no read-then-write race. The affected-row count
 * decides: zero rows means stale.
 */

export interface CheckedUpdate {
  metadata: EntityMetadata;
  versionColumn: ColumnMetadata;
  identifier: ObjectLiteral;
  /** Column values to write (TypeORM's value set); the version is added here. */
  values: ObjectLiteral;
  /**
   * The version the caller read; `undefined` writes without a check (a root moved for a member the
   * caller added by key): then the row must still exist, or StaleDataError says it is gone.
   */
  expectedVersion: number | undefined;
  nextVersion: number | "increment";
  entity: ObjectLiteral | undefined;
  reload: boolean;
}

/** `UPDATE … SET …, version = :next WHERE <pk> AND version = :expected`. Returns the generated map TypeORM read back. */
export async function checkedUpdate(queryRunner: QueryRunner, update: CheckedUpdate): Promise<ObjectLiteral | undefined> {
  const { metadata, versionColumn } = update;
  const values = structuredCloneValues(update.values);
  if (update.nextVersion === "increment") {
    const name = dataSourceOf(queryRunner).driver.escape(versionColumn.databaseName);
    setColumnValue(values, versionColumn, () => `${name} + 1`);
  } else {
    setColumnValue(values, versionColumn, update.nextVersion);
  }
  const query = queryRunner.manager
    .createQueryBuilder(queryRunner)
    .update(metadata.target)
    .set(values)
    .updateEntity(update.reload && readsBack(queryRunner, update))
    .callListeners(false)
    .whereEntity(update.identifier);
  if (update.expectedVersion !== undefined) {
    query.andWhere(`${query.escape(versionColumn.databaseName)} = :occExpectedVersion`, {
      occExpectedVersion: update.expectedVersion,
    });
  }
  const result = await query.execute();
  if (affectedRows(result, metadata) === 0) {
    // By primary key alone, no row matched: it is gone (a root removed while a member was added to it by key).
    if (update.expectedVersion === undefined) throw staleErrorFromVersion({ ...update, expectedVersion: null, operation: "update" }, null);
    throw await staleDataError(queryRunner, staleWrite(update, update.expectedVersion, "update"));
  }
  return result.generatedMaps[0];
}

/**
 * Whether the UPDATE reads values back: free where it returns them (PostgreSQL's RETURNING); elsewhere
 * a SELECT after it, sent only for what the database computes — update dates, generated columns, a
 * version moved by `version + 1`. A version the library set is known without reading it.
 */
function readsBack(queryRunner: QueryRunner, update: CheckedUpdate): boolean {
  if (update.nextVersion === "increment" || dataSourceOf(queryRunner).driver.isReturningSqlSupported("update")) return true;
  return update.metadata.columns.some((column) => column.isUpdateDate || column.asExpression !== undefined);
}

export interface CheckedRemoval {
  identifier: ObjectLiteral;
  expectedVersion: number;
  entity: ObjectLiteral | undefined;
}

/**
 * Version-checked DELETEs for a batch of rows of one entity: as few statements as the database's
 * limits allow (usually one, like TypeORM's own batched delete), each
 * `DELETE … WHERE (version = :v0 AND pk IN (…)) OR (version = :v1 AND pk IN (…)) …` (composite keys:
 * `(pk1 AND pk2 AND version)` per row). If a statement deleted fewer rows than it was given, its
 * survivors are read to name the stale one; the caller's transaction then rolls the batch back.
 */
export async function checkedDelete(
  queryRunner: QueryRunner,
  metadata: EntityMetadata,
  versionColumn: ColumnMetadata,
  removals: CheckedRemoval[],
): Promise<void> {
  for (const batch of deleteBatches(metadata, removals)) {
    const query = queryRunner.manager.createQueryBuilder(queryRunner).delete().from(metadata.target).callListeners(false);
    const escape = (name: string) => query.escape(name);
    const version = escape(versionColumn.databaseName);
    const [key] = metadata.primaryColumns;
    const conditions = batch.conditions.map((rows, n) => {
      query.setParameter(`occ_version_${n}`, rows[0].expectedVersion);
      if (metadata.primaryColumns.length === 1) {
        query.setParameter(
          `occ_ids_${n}`,
          rows.map((row) => key.getEntityValue(row.identifier)),
        );
        return `(${version} = :occ_version_${n} AND ${escape(key.databaseName)} IN (:...occ_ids_${n}))`;
      }
      const parts = metadata.primaryColumns.map((column, index) => {
        query.setParameter(`occ_pk_${n}_${index}`, column.getEntityValue(rows[0].identifier));
        return `${escape(column.databaseName)} = :occ_pk_${n}_${index}`;
      });
      return `(${[...parts, `${version} = :occ_version_${n}`].join(" AND ")})`;
    });
    query.where(conditions.join(" OR "));
    const result = await query.execute();
    if (affectedRows(result, metadata) === batch.rows.length) continue;

    // Rows this statement deleted are gone too: a row still there at another version is the stale
    // one; failing that, one that was gone before (which of the missing ones cannot be told apart).
    const survivors = await readVersions(
      queryRunner,
      metadata,
      versionColumn,
      batch.rows.map((removal) => removal.identifier),
    );
    const actualVersionOf = (removal: CheckedRemoval) => survivors.get(rowKey(metadata, removal.identifier)) ?? null;
    const stale =
      batch.rows.find((removal) => actualVersionOf(removal) !== null && actualVersionOf(removal) !== removal.expectedVersion) ??
      batch.rows.find((removal) => actualVersionOf(removal) === null) ??
      batch.rows[0];
    const write: StaleWrite = {
      metadata,
      versionColumn,
      identifier: stale.identifier,
      expectedVersion: stale.expectedVersion,
      operation: "delete",
      entity: stale.entity,
    };
    throw staleErrorFromVersion(write, actualVersionOf(stale));
  }
}

/**
 * Soft delete or restore through TypeORM's own builders (which add `version = version + 1`), checked.
 * `keepVersion`: the row already moved in this transaction (a version moves once per transaction),
 * so the delete date is written with the version left where it is.
 */
export async function checkedSoftDeleteOrRestore(
  queryRunner: QueryRunner,
  operation: "soft-delete" | "restore",
  write: Omit<CheckedUpdate, "values" | "nextVersion"> & { expectedVersion: number },
  keepVersion = false,
): Promise<ObjectLiteral | undefined> {
  const deleteDate = write.metadata.deleteDateColumn;
  if (keepVersion && deleteDate) {
    // The application's clock rather than the database's: the value is then known without reading it back.
    const values: ObjectLiteral = {};
    setColumnValue(values, deleteDate, operation === "soft-delete" ? new Date() : null);
    const generated = await checkedUpdate(queryRunner, { ...write, values, nextVersion: write.expectedVersion });
    return { ...generated, ...values };
  }
  const builder = queryRunner.manager.createQueryBuilder(queryRunner);
  const query = (operation === "soft-delete" ? builder.softDelete() : builder.restore())
    .from(write.metadata.target)
    .updateEntity(write.reload)
    .callListeners(false)
    .whereEntity(write.identifier)
    .andWhere(`${builder.escape(write.versionColumn.databaseName)} = :occExpectedVersion`, {
      occExpectedVersion: write.expectedVersion,
    });
  const result = await query.execute();
  if (affectedRows(result, write.metadata) === 0) {
    throw await staleDataError(queryRunner, staleWrite(write, write.expectedVersion, operation));
  }
  return result.generatedMaps[0];
}

function staleWrite(
  write: Pick<CheckedUpdate, "metadata" | "versionColumn" | "identifier" | "entity">,
  expectedVersion: number,
  operation: StaleOperation,
): StaleWrite {
  return { ...write, expectedVersion, operation };
}

/** Never trust a missing count: a driver that cannot report it cannot be version-checked. */
function affectedRows(result: UpdateResult | DeleteResult, metadata: EntityMetadata): number {
  if (typeof result.affected === "number") return result.affected;
  throw new TypeOrmCompatibilityError(
    `the ${dataSourceOf(metadata).driver.options.type} driver did not report affected rows for a write to ${metadata.name}; typeorm-occ cannot check versions on it`,
  );
}

/** A copy of a SET map deep enough that adding the version to an embedded object leaves the caller's map alone. */
function structuredCloneValues(values: ObjectLiteral): ObjectLiteral {
  const copy: ObjectLiteral = {};
  for (const [key, value] of Object.entries(values)) {
    copy[key] =
      value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype ? structuredCloneValues(value) : value;
  }
  return copy;
}
