import type { EntityMetadata, ObjectLiteral, QueryRunner } from "typeorm";
import { dataSourceOf } from "../internals/typeorm-internals";
import type { ColumnMetadata } from "typeorm/metadata/ColumnMetadata";
import { StaleDataError, type StaleOperation } from "../errors";
import { primaryKeyValues, rowKey } from "../version/versioned-metadata";

export interface StaleWrite {
  metadata: EntityMetadata;
  versionColumn: ColumnMetadata;
  identifier: ObjectLiteral;
  expectedVersion: number | null;
  operation: StaleOperation;
  entity: ObjectLiteral | undefined;
  readVersion?: number;
  reason?: string;
}

/**
 * Builds the error for a write that matched no row. Only here, on the failure path, is the row read
 * again (inside the same transaction) to report the version it holds now, as committed.
 */
export async function staleDataError(queryRunner: QueryRunner, write: StaleWrite): Promise<StaleDataError> {
  const actual = await readVersions(queryRunner, write.metadata, write.versionColumn, [write.identifier]);
  return staleErrorFromVersion(write, actual.get(rowKey(write.metadata, write.identifier)) ?? null);
}

export function staleErrorFromVersion(write: StaleWrite | Omit<StaleWrite, "versionColumn">, actualVersion: number | null): StaleDataError {
  return new StaleDataError({
    entityName: write.metadata.name,
    primaryKey: primaryKeyValues(write.metadata, write.identifier),
    expectedVersion: write.expectedVersion,
    actualVersion,
    operation: write.operation,
    entity: write.entity,
    readVersion: write.readVersion,
    reason: write.reason,
  });
}

/** A row that had to exist (a parent written under, a root moved by key) is gone: removed meanwhile. */
export function rowGoneError(row: { metadata: EntityMetadata; primaryKey: ObjectLiteral }): StaleDataError {
  return staleErrorFromVersion(
    { metadata: row.metadata, identifier: row.primaryKey, expectedVersion: null, operation: "update", entity: undefined },
    null,
  );
}

/**
 * Current versions of the given rows (soft-deleted ones included), keyed by {@link rowKey}: the
 * latest committed ones, which the failed write met, not an older snapshot of the transaction's —
 * unless `asSnapshot` asks for the versions the transaction's own plain reads see.
 */
export async function readVersions(
  queryRunner: QueryRunner,
  metadata: EntityMetadata,
  versionColumn: ColumnMetadata,
  identifiers: ObjectLiteral[],
  asSnapshot = false,
): Promise<Map<string, number>> {
  const alias = "occ_row";
  const query = queryRunner.manager
    .createQueryBuilder(metadata.target, alias, queryRunner)
    .withDeleted()
    .select(`${alias}.${versionColumn.propertyPath}`, "occ_version");
  const [key] = metadata.primaryColumns;
  if (metadata.primaryColumns.length === 1) {
    // One IN list: TypeORM's whereInIds writes `pk = :a OR pk = :b …`, which SQLite refuses past 1,000 rows.
    query.where(`${alias}.${key.propertyPath} IN (:...occIds)`, {
      occIds: identifiers.map((identifier) => key.getEntityValue(identifier)),
    });
  } else {
    query.whereInIds(identifiers.map((identifier) => metadata.getEntityIdMap(identifier) ?? identifier));
  }
  for (const column of metadata.primaryColumns) query.addSelect(`${alias}.${column.propertyPath}`, `occ_pk_${column.databaseName}`);
  if (!asSnapshot && queryRunner.isTransactionActive && readsFromSnapshot(queryRunner)) query.setLock("pessimistic_read");
  const rows: Record<string, unknown>[] = await query.getRawMany();
  const versions = new Map<string, number>();
  for (const row of rows) {
    const primaryKey: Record<string, unknown> = {};
    for (const column of metadata.primaryColumns) column.setEntityValue(primaryKey, row[`occ_pk_${column.databaseName}`]);
    versions.set(rowKey(metadata, primaryKey), Number(row.occ_version));
  }
  return versions;
}

/**
 * Under MySQL's and MariaDB's default REPEATABLE READ, a plain SELECT inside a transaction answers
 * from the snapshot of its first read, older than the row the failed write just met ("expected 1,
 * found 1" with the row at 2); a locking read sees the latest committed row. Under REPEATABLE READ
 * the failed write already locked that row, so the lock costs no wait. PostgreSQL reads committed
 * rows under READ COMMITTED and refuses a write to a newer row (SQLSTATE 40001) under stricter
 * levels; SQLite's writer always reads the latest rows, and has no locking reads.
 */
export function readsFromSnapshot(queryRunner: QueryRunner): boolean {
  const type = dataSourceOf(queryRunner).driver.options.type;
  return type === "mysql" || type === "mariadb" || type === "aurora-mysql";
}
