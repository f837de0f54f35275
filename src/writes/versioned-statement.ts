import type { EntityMetadata, ObjectLiteral, QueryRunner } from "typeorm";
import type { ColumnMetadata } from "typeorm/metadata/ColumnMetadata";
import { dataSourceOf, escapeQueryWithParameters } from "../internals/typeorm-internals";
import { TypeOrmCompatibilityError } from "../errors";
import { staleDataError } from "../persistence/stale-lookup";
import { checkedUpdate, type CheckedUpdate } from "../persistence/versioned-writes";
import { bindSetList, escapedTable, setAssignments, StatementCache } from "./statement-cache";
export { STATEMENTS_PER_ENTITY } from "./statement-cache";

/** Column types whose values TypeORM wraps in SQL functions (GeoJSON): left to its update builder. */
const SPATIAL = new Set([
  "geometry",
  "geography",
  "point",
  "linestring",
  "polygon",
  "multipoint",
  "multilinestring",
  "multipolygon",
  "geometrycollection",
]);

const statements = new StatementCache();

/** How many statement texts updateVersioned keeps for an entity now (for tests and diagnostics). */
export function cachedStatementCount(metadata: EntityMetadata): number {
  return statements.size(metadata);
}

/**
 * updateVersioned's `UPDATE … SET …, version = :next WHERE <pk> AND version = :expected`. TypeORM's
 * update builder rebuilds the SQL text on every call, which costs more client time than the
 * statement itself; for the common shape — columns of the entity's own table set to values or raw
 * SQL functions — the text is built once per entity and shape (at most STATEMENTS_PER_ENTITY kept per
 * entity), and each call binds its values through
 * the driver's own preparation (`preparePersistentValue`: transformers, dates, JSON), as the builder
 * does, and adds `updateDate = CURRENT_TIMESTAMP` as it does. Any other shape (relations, spatial
 * columns, a key with a transformer) goes through the builder (checkedUpdate). Zero rows: StaleDataError.
 */
export async function sendVersionedUpdate(
  queryRunner: QueryRunner,
  update: CheckedUpdate & { nextVersion: number; expectedVersion: number },
): Promise<void> {
  const dataSource = dataSourceOf(queryRunner);
  const { metadata, versionColumn, values } = update;
  const set = metadata.columns.filter((column) => column.getEntityValue(values) !== undefined);
  const plain = set.every(
    (column) => !column.relationMetadata && !SPATIAL.has(String(dataSource.driver.normalizeType(column)).toLowerCase()),
  );
  if (!plain || metadata.primaryColumns.some((column) => column.transformer || column.relationMetadata)) {
    await checkedUpdate(queryRunner, update);
    return;
  }
  const parameters: ObjectLiteral = { occ_next: update.nextVersion, occ_expected: update.expectedVersion };
  const shape = bindSetList(set, values, (value, column) => dataSource.driver.preparePersistentValue(value, column), parameters);
  metadata.primaryColumns.forEach((column, index) => (parameters[`occ_k${index}`] = column.getEntityValue(update.identifier)));
  const key = shape.join("\u0000");
  const template = statements.text(metadata, key, () => buildTemplate(queryRunner, metadata, versionColumn, set, values));
  const [sql, bound] = escapeQueryWithParameters(dataSource, template, parameters);
  const result: { affected?: unknown } = await queryRunner.query(sql, bound, true);
  if (typeof result.affected !== "number") {
    // The statement ran: sending it again would meet the row at the new version. A driver that cannot say is refused.
    throw new TypeOrmCompatibilityError(
      `the ${dataSource.driver.options.type} driver did not report affected rows for a write to ${metadata.name}; typeorm-occ cannot check versions on it`,
    );
  }
  if (result.affected === 0) {
    throw await staleDataError(queryRunner, {
      metadata,
      versionColumn,
      identifier: update.identifier,
      expectedVersion: update.expectedVersion,
      operation: "update",
      entity: update.entity,
    });
  }
}

function buildTemplate(
  queryRunner: QueryRunner,
  metadata: EntityMetadata,
  versionColumn: ColumnMetadata,
  set: ColumnMetadata[],
  values: ObjectLiteral,
): string {
  const escape = (name: string) => dataSourceOf(queryRunner).driver.escape(name);
  const table = escapedTable(metadata, escape);
  const assignments = setAssignments(set, values, escape);
  assignments.push(`${escape(versionColumn.databaseName)} = :occ_next`);
  const updateDate = metadata.updateDateColumn;
  if (updateDate && !set.includes(updateDate)) assignments.push(`${escape(updateDate.databaseName)} = CURRENT_TIMESTAMP`);
  const keys = metadata.primaryColumns.map((column, index) => `${escape(column.databaseName)} = :occ_k${index}`);
  return `UPDATE ${table} SET ${assignments.join(", ")} WHERE ${[...keys, `${escape(versionColumn.databaseName)} = :occ_expected`].join(" AND ")}`;
}
