import type { EntityMetadata, ObjectLiteral, QueryRunner } from "typeorm";
import type { ColumnMetadata } from "typeorm/metadata/ColumnMetadata";
import { dataSourceOf, escapeQueryWithParameters } from "../internals/typeorm-internals";
import { readsFromSnapshot } from "../persistence/stale-lookup";
import { rowKey } from "../version/versioned-metadata";
import type { AggregateGraph, ParentLink } from "./aggregate-graph";

/** A row of an entity, by primary key. */
export interface RowRef {
  metadata: EntityMetadata;
  primaryKey: ObjectLiteral;
  key: string;
}

/** The parent row behind each link of one row; `null` where the row has no parent through that link. */
export type ParentsByLink = Map<ParentLink, RowRef | null>;

/** Rows per statement: far below every database's bound-parameter limit. */
const CHUNK = 400;

export function rowRef(metadata: EntityMetadata, primaryKey: ObjectLiteral): RowRef {
  return { metadata, primaryKey, key: rowKey(metadata, primaryKey) };
}

/**
 * Reads the parents of member rows from the database, inside the caller's transaction, in as few
 * statements as the schema allows: one per entity for the links whose key the member holds (all
 * of them in one SELECT), one per link whose key the parent holds. When an entity links to
 * itself (replies to replies), a recursive statement returns the links of the whole chain above
 * the rows as well, so a chain of any depth costs one statement. Results are keyed by {@link rowKey}
 * and include every row the statement saw, not only the ones asked for.
 *
 * `latest`: on MySQL/MariaDB inside a transaction a plain SELECT answers from the snapshot of the
 * transaction's first read; a locking read (LOCK IN SHARE MODE) answers with the latest committed
 * rows. A locking clause does not reach into a recursive CTE, so self-references are then followed
 * one level per statement.
 */
export async function readParents(
  queryRunner: QueryRunner,
  graph: AggregateGraph,
  metadata: EntityMetadata,
  rows: RowRef[],
  latest = false,
): Promise<Map<string, ParentsByLink>> {
  const found = new Map<string, ParentsByLink>();
  const links = graph.parentLinks(metadata);
  const lock = latest && queryRunner.isTransactionActive && readsFromSnapshot(queryRunner) ? " LOCK IN SHARE MODE" : "";
  for (let start = 0; start < rows.length; start += CHUNK) {
    const chunk = rows.slice(start, start + CHUNK);
    if (links.some((link) => link.kind === "member-holds-key")) await readHeldKeys(queryRunner, metadata, links, chunk, found, lock);
    for (const link of links)
      if (link.kind === "parent-holds-key") await readParentHeldKey(queryRunner, metadata, link, chunk, found, lock);
  }
  return found;
}

function escapeTable(queryRunner: QueryRunner, metadata: EntityMetadata): string {
  const driver = dataSourceOf(queryRunner).driver;
  return metadata.tablePath
    .split(".")
    .map((part) => (part === "" ? part : driver.escape(part)))
    .join(".");
}

/** `(t.a = :p0 AND t.b = :p1) OR …`, or `t.a IN (:...p)` for a one-column key. */
function matchRows(
  alias: string,
  columns: ColumnMetadata[],
  values: unknown[][],
  escape: (name: string) => string,
  parameters: ObjectLiteral,
): string {
  if (columns.length === 1) {
    parameters.occ_keys = values.map((row) => row[0]);
    return `${alias}.${escape(columns[0].databaseName)} IN (:...occ_keys)`;
  }
  return values
    .map((row, index) => {
      const parts = columns.map((column, position) => {
        parameters[`occ_k${index}_${position}`] = row[position];
        return `${alias}.${escape(column.databaseName)} = :occ_k${index}_${position}`;
      });
      return `(${parts.join(" AND ")})`;
    })
    .join(" OR ");
}

async function readHeldKeys(
  queryRunner: QueryRunner,
  metadata: EntityMetadata,
  links: ParentLink[],
  rows: RowRef[],
  found: Map<string, ParentsByLink>,
  lock: string,
): Promise<void> {
  const dataSource = dataSourceOf(queryRunner);
  const escape = (name: string) => dataSource.driver.escape(name);
  const held = links.filter((link) => link.kind === "member-holds-key");
  const columns: ColumnMetadata[] = [];
  for (const column of [...metadata.primaryColumns, ...held.flatMap((link) => link.relation.joinColumns)]) {
    if (!columns.some((known) => known.databaseName === column.databaseName)) columns.push(column);
  }
  const table = escapeTable(queryRunner, metadata);
  const list = (alias: string) => columns.map((column) => `${alias}.${escape(column.databaseName)}`).join(", ");
  const parameters: ObjectLiteral = {};
  const where = matchRows(
    "t",
    metadata.primaryColumns,
    rows.map((row) => metadata.primaryColumns.map((column) => column.getEntityValue(row.primaryKey))),
    escape,
    parameters,
  );
  const selfLinks = lock ? [] : held.filter((link) => link.parent.tableName === metadata.tableName);
  const names = columns.map((_, index) => `occ_c${index}`);
  let sql: string;
  if (selfLinks.length === 0) {
    sql = `SELECT ${columns.map((column, index) => `t.${escape(column.databaseName)} AS ${names[index]}`).join(", ")} FROM ${table} t WHERE ${where}${lock}`;
  } else {
    // Follow the self-references upwards; UNION (not UNION ALL) stops on a cycle in the data.
    const follow = selfLinks
      .map(
        (link) =>
          `(${link.relation.joinColumns
            .map(
              (column) =>
                `t.${escape(column.referencedColumn!.databaseName)} = c.${names[columns.indexOf(columns.find((known) => known.databaseName === column.databaseName)!)]}`,
            )
            .join(" AND ")})`,
      )
      .join(" OR ");
    sql =
      `WITH RECURSIVE occ_chain (${names.join(", ")}) AS (` +
      `SELECT ${list("t")} FROM ${table} t WHERE ${where} ` +
      `UNION SELECT ${list("t")} FROM ${table} t JOIN occ_chain c ON ${follow}` +
      `) SELECT ${names.join(", ")} FROM occ_chain`;
  }
  const [query, bound] = escapeQueryWithParameters(dataSource, sql, parameters);
  const result: Record<string, unknown>[] = await queryRunner.query(query, bound);
  const valueOf = (raw: Record<string, unknown>, column: ColumnMetadata) =>
    raw[names[columns.findIndex((known) => known.databaseName === column.databaseName)]];
  for (const raw of result) {
    const primaryKey: ObjectLiteral = {};
    for (const column of metadata.primaryColumns) column.setEntityValue(primaryKey, hydrate(queryRunner, valueOf(raw, column), column));
    const parents: ParentsByLink = found.get(rowKey(metadata, primaryKey)) ?? new Map();
    for (const link of held) {
      const parentKey: ObjectLiteral = {};
      let complete = true;
      for (const column of link.relation.joinColumns) {
        const value = valueOf(raw, column);
        if (value === null || value === undefined) complete = false;
        else column.referencedColumn!.setEntityValue(parentKey, hydrate(queryRunner, value, column.referencedColumn!));
      }
      parents.set(link, complete ? rowRef(link.parent, parentKey) : null);
    }
    found.set(rowKey(metadata, primaryKey), parents);
  }
}

/** The parent holds the key (its owning one-to-one points at the member): find parents by that key. */
async function readParentHeldKey(
  queryRunner: QueryRunner,
  metadata: EntityMetadata,
  link: ParentLink,
  rows: RowRef[],
  found: Map<string, ParentsByLink>,
  lock: string,
): Promise<void> {
  const dataSource = dataSourceOf(queryRunner);
  const escape = (name: string) => dataSource.driver.escape(name);
  const joinColumns = link.relation.joinColumns;
  const columns = [...link.parent.primaryColumns, ...joinColumns];
  const names = columns.map((_, index) => `occ_c${index}`);
  const parameters: ObjectLiteral = {};
  const where = matchRows(
    "t",
    joinColumns,
    rows.map((row) => joinColumns.map((column) => column.referencedColumn!.getEntityValue(row.primaryKey))),
    escape,
    parameters,
  );
  const sql = `SELECT ${columns.map((column, index) => `t.${escape(column.databaseName)} AS ${names[index]}`).join(", ")} FROM ${escapeTable(queryRunner, link.parent)} t WHERE ${where}${lock}`;
  const [query, bound] = escapeQueryWithParameters(dataSource, sql, parameters);
  const result: Record<string, unknown>[] = await queryRunner.query(query, bound);
  for (const row of rows) {
    const parents: ParentsByLink = found.get(row.key) ?? new Map();
    parents.set(link, null);
    found.set(row.key, parents);
  }
  for (const raw of result) {
    const memberKey: ObjectLiteral = {};
    joinColumns.forEach((column, index) =>
      column.referencedColumn!.setEntityValue(
        memberKey,
        hydrate(queryRunner, raw[names[link.parent.primaryColumns.length + index]], column.referencedColumn!),
      ),
    );
    const parentKey: ObjectLiteral = {};
    link.parent.primaryColumns.forEach((column, index) =>
      column.setEntityValue(parentKey, hydrate(queryRunner, raw[names[index]], column)),
    );
    found.get(rowKey(metadata, memberKey))?.set(link, rowRef(link.parent, parentKey));
  }
}

function hydrate(queryRunner: QueryRunner, value: unknown, column: ColumnMetadata): unknown {
  return value === null || value === undefined ? value : dataSourceOf(queryRunner).driver.prepareHydratedValue(value, column);
}
