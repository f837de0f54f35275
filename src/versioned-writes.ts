import type { EntityMetadata, ObjectLiteral, QueryRunner, UpdateResult, DeleteResult } from "typeorm";
import type { ColumnMetadata } from "typeorm/metadata/ColumnMetadata";
import { TypeOrmCompatibilityError, type StaleOperation } from "./errors";
import { readVersions, staleDataError, staleErrorFromVersion, type StaleWrite } from "./stale-lookup";
import { setColumnValue } from "./value-maps";
import { rowKey } from "./versioned-metadata";

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
  /** The version the caller read; `undefined` writes without a check (only for rows found through a foreign key). */
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
    const name = queryRunner.connection.driver.escape(versionColumn.databaseName);
    setColumnValue(values, versionColumn, () => `${name} + 1`);
  } else {
    setColumnValue(values, versionColumn, update.nextVersion);
  }
  const query = queryRunner.manager
    .createQueryBuilder(queryRunner)
    .update(metadata.target)
    .set(values)
    .updateEntity(update.reload)
    .callListeners(false)
    .whereEntity(update.identifier);
  if (update.expectedVersion !== undefined) {
    query.andWhere(`${query.escape(versionColumn.databaseName)} = :occExpectedVersion`, {
      occExpectedVersion: update.expectedVersion,
    });
  }
  const result = await query.execute();
  if (affectedRows(result, metadata) === 0) {
    if (update.expectedVersion === undefined) return undefined;
    throw await staleDataError(queryRunner, staleWrite(update, update.expectedVersion, "update"));
  }
  return result.generatedMaps[0];
}

export interface CheckedRemoval {
  identifier: ObjectLiteral;
  expectedVersion: number;
  entity: ObjectLiteral | undefined;
}

/**
 * One `DELETE … WHERE (<pk> AND version = :v0) OR (<pk> AND version = :v1) …` for a batch of rows of
 * one entity, like TypeORM's own batched delete. If fewer rows than expected were deleted, the
 * survivors are read to name the stale one; the caller's transaction then rolls the batch back.
 */
export async function checkedDelete(
  queryRunner: QueryRunner,
  metadata: EntityMetadata,
  versionColumn: ColumnMetadata,
  removals: CheckedRemoval[],
): Promise<void> {
  const query = queryRunner.manager.createQueryBuilder(queryRunner).delete().from(metadata.target).callListeners(false);
  const escape = (name: string) => query.escape(name);
  const conditions = removals.map((removal, row) => {
    const parts = metadata.primaryColumns.map((column, index) => {
      query.setParameter(`occ_pk_${row}_${index}`, column.getEntityValue(removal.identifier));
      return `${escape(column.databaseName)} = :occ_pk_${row}_${index}`;
    });
    query.setParameter(`occ_version_${row}`, removal.expectedVersion);
    parts.push(`${escape(versionColumn.databaseName)} = :occ_version_${row}`);
    return `(${parts.join(" AND ")})`;
  });
  query.where(conditions.join(" OR "));
  const result = await query.execute();
  if (affectedRows(result, metadata) === removals.length) return;

  const survivors = await readVersions(queryRunner, metadata, versionColumn, removals.map((removal) => removal.identifier));
  const actualVersionOf = (removal: CheckedRemoval) => survivors.get(rowKey(metadata, removal.identifier)) ?? null;
  const stale = removals.find((removal) => actualVersionOf(removal) !== removal.expectedVersion) ?? removals[0];
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

/** Soft delete or restore through TypeORM's own builders (which add `version = version + 1`), checked. */
export async function checkedSoftDeleteOrRestore(
  queryRunner: QueryRunner,
  operation: "soft-delete" | "restore",
  write: Omit<CheckedUpdate, "values" | "nextVersion"> & { expectedVersion: number },
): Promise<ObjectLiteral | undefined> {
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
    `the ${metadata.connection.driver.options.type} driver did not report affected rows for a write to ${metadata.name}; typeorm-occ cannot check versions on it`,
  );
}

/** A copy of a SET map deep enough that adding the version to an embedded object leaves the caller's map alone. */
function structuredCloneValues(values: ObjectLiteral): ObjectLiteral {
  const copy: ObjectLiteral = {};
  for (const [key, value] of Object.entries(values)) {
    copy[key] = value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype ? structuredCloneValues(value) : value;
  }
  return copy;
}
