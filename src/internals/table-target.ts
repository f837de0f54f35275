import type { DataSource, EntityMetadata } from "typeorm";

/**
 * The entity whose table a query builder's raw table name reaches. TypeORM finds a string target's
 * metadata by entity name, table name or exact table path only, so `update("public.order_line")`
 * (PostgreSQL), `update("<database>.order_line")` (MariaDB/MySQL), `update("main.order_line")` or
 * `update("ORDER_LINE")` (SQLite, whose names ignore case) ran as writes to a raw table, which the
 * write guard lets through, although they reach an entity's table. Resolved here like the plain
 * name: the last part is the table, the parts before it must name where the entity's table lives (its
 * schema or database, or the connection's default). Quotes around a part are dropped. `undefined`
 * when the name reaches no entity's table (another schema's table of the same name included).
 */
export function metadataOfTablePath(dataSource: DataSource, tablePath: string): EntityMetadata | undefined {
  const parts = tablePath.split(".").map(unquoted);
  const table = parts.pop();
  if (table === undefined || parts.length > 2) return undefined;
  const type: string = dataSource.driver.options.type;
  const ignoreCase = type === "better-sqlite3" || type === "sqlite";
  const same = (a: string | undefined, b: string | undefined) =>
    a !== undefined && b !== undefined && (ignoreCase ? a.toLowerCase() === b.toLowerCase() : a === b);
  return dataSource.entityMetadatas.find((metadata) => {
    if (metadata.tableType === "view" || !same(metadata.tableName, table)) return false;
    const qualifiers = qualifiersOf(dataSource, metadata);
    // The qualifiers given are the last ones of where the table lives: [schema] or [database, schema].
    const given = qualifiers.slice(qualifiers.length - parts.length);
    return parts.length <= qualifiers.length && parts.every((part, index) => same(part, given[index]));
  });
}

/** Where an entity's table lives, outermost first: the names a qualified reference may put before it. */
function qualifiersOf(dataSource: DataSource, metadata: EntityMetadata): string[] {
  const driver = dataSource.driver as { options: { type: string }; database?: string; schema?: string };
  const type = driver.options.type;
  if (type === "postgres") {
    // PostgresDriver sets `schema` to the connection's current schema (search path) once connected.
    return [metadata.database ?? driver.database, metadata.schema ?? driver.schema ?? "public"].filter(isName);
  }
  if (type === "mysql" || type === "mariadb") return [metadata.database ?? driver.database].filter(isName);
  if (type === "better-sqlite3" || type === "sqlite") return [metadata.database ?? "main"];
  return [metadata.database, metadata.schema].filter(isName);
}

function isName(value: string | undefined): value is string {
  return typeof value === "string" && value.length > 0;
}

/** `"order_line"`, `` `order_line` `` or `[order_line]` → `order_line`. */
function unquoted(part: string): string {
  const quoted = /^"(.*)"$|^`(.*)`$|^\[(.*)\]$/s.exec(part);
  return quoted ? (quoted[1] ?? quoted[2] ?? quoted[3]) : part;
}
