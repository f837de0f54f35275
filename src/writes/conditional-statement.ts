import type { EntityMetadata, ObjectLiteral, QueryRunner } from "typeorm";
import type { ColumnMetadata } from "typeorm/metadata/ColumnMetadata";
import { dataSourceOf, escapeQueryWithParameters } from "../internals/typeorm-internals";
import { TypeOrmCompatibilityError } from "../errors";
import { bindSetList, escapedTable, setAssignments, StatementCache } from "./statement-cache";

const statements = new StatementCache();

/** Scalar types a condition can compare as is (no transformer, no driver conversion). */
const PLAIN_WHERE = new Set(["number", "string", "boolean", "bigint"]);
/** Column types whose values TypeORM converts or wraps: left to its update builder. */
const CONVERTED = /date|time|json|simple|enum|geometry|geography|point|polygon|line|hstore|array|uuid/i;

/**
 * updateIf's `UPDATE … SET … WHERE col = :v AND …` for the common shape — equality on columns of
 * the entity's own table, and a SET list of values, raw SQL and calculated changes — built once per
 * entity and shape (see StatementCache) instead of through TypeORM's update builder on every call,
 * which costs more client time than the statement itself. Values are bound through the driver's own
 * preparation, as the builder does, and `updateDate = CURRENT_TIMESTAMP` added as it does. Returns
 * the rows matched, or undefined for any other shape (operators, relations, embedded or converted
 * columns): the caller then uses the builder.
 */
export async function sendConditionalUpdate(
  queryRunner: QueryRunner,
  metadata: EntityMetadata,
  where: ObjectLiteral,
  values: ObjectLiteral,
  parameters: ObjectLiteral,
): Promise<number | undefined> {
  const dataSource = dataSourceOf(queryRunner);
  const driver = dataSource.driver;
  const conditions: ColumnMetadata[] = [];
  for (const [property, value] of Object.entries(where)) {
    const column = metadata.findColumnWithPropertyPath(property);
    if (!column || column.relationMetadata || column.embeddedMetadata || column.transformer || !PLAIN_WHERE.has(typeof value))
      return undefined;
    if (CONVERTED.test(String(driver.normalizeType(column)))) return undefined;
    conditions.push(column);
  }
  const set = metadata.columns.filter((column) => column.getEntityValue(values) !== undefined);
  if (conditions.length === 0 || set.some((column) => column.relationMetadata || CONVERTED.test(String(driver.normalizeType(column)))))
    return undefined;

  const bound: ObjectLiteral = { ...parameters };
  const shape = bindSetList(set, values, (value, column) => driver.preparePersistentValue(value, column), bound);
  conditions.forEach((column, index) => {
    shape.push(`?${column.databaseName}`);
    bound[`occ_w${index}`] = column.getEntityValue(where);
  });
  const template = statements.text(metadata, shape.join("\u0000"), () => {
    const escape = (name: string) => driver.escape(name);
    const assignments = setAssignments(set, values, escape);
    const updateDate = metadata.updateDateColumn;
    if (updateDate && !set.includes(updateDate)) assignments.push(`${escape(updateDate.databaseName)} = CURRENT_TIMESTAMP`);
    const tests = conditions.map((column, index) => `${escape(column.databaseName)} = :occ_w${index}`);
    return `UPDATE ${escapedTable(metadata, escape)} SET ${assignments.join(", ")} WHERE ${tests.join(" AND ")}`;
  });
  const [sql, args] = escapeQueryWithParameters(dataSource, template, bound);
  const result: { affected?: unknown } = await queryRunner.query(sql, args, true);
  if (typeof result.affected !== "number") {
    throw new TypeOrmCompatibilityError(
      `the ${driver.options.type} driver did not report affected rows for a write to ${metadata.name}; updateIf cannot tell whether its condition held`,
    );
  }
  return result.affected;
}
