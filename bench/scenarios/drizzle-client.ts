import { and, eq, sql } from "drizzle-orm";
import type { BenchDatabase } from "../databases";
import { foundRow, type DirectClient } from "./raw-counter";

/**
 * The same three statements as the raw client, written with Drizzle ORM's query builder the way its
 * documentation shows (a table object, `select`/`update` built per call, no prepared statements), over
 * the same drivers: node-postgres, better-sqlite3, mysql2.
 */
export async function drizzleClient(db: BenchDatabase, poolSize: number): Promise<DirectClient> {
  if (db.driver === "postgres") {
    const { Pool } = await import("pg");
    const { drizzle } = await import("drizzle-orm/node-postgres");
    const { integer, pgTable } = await import("drizzle-orm/pg-core");
    const items = pgTable("occ_item", {
      id: integer("id").primaryKey(),
      counter: integer("counter").notNull(),
      version: integer("version").notNull(),
    });
    const pool = new Pool({ connectionString: db.location, max: poolSize });
    const orm = drizzle({ client: pool });
    const columns = { counter: items.counter, version: items.version };
    return {
      read: async (id) => foundRow((await orm.select(columns).from(items).where(eq(items.id, id)))[0], id),
      write: async (id, counter, version) =>
        (
          await orm
            .update(items)
            .set({ counter, version: sql`${items.version} + 1` })
            .where(and(eq(items.id, id), eq(items.version, version)))
        ).rowCount ?? 0,
      increment: async (id) =>
        (
          await orm
            .update(items)
            .set({ counter: sql`${items.counter} + 1`, version: sql`${items.version} + 1` })
            .where(eq(items.id, id))
        ).rowCount ?? 0,
      close: () => pool.end(),
    };
  }
  if (db.driver === "mariadb") {
    const mysql = await import("mysql2/promise");
    const { drizzle } = await import("drizzle-orm/mysql2");
    const { int, mysqlTable } = await import("drizzle-orm/mysql-core");
    const items = mysqlTable("occ_item", {
      id: int("id").primaryKey(),
      counter: int("counter").notNull(),
      version: int("version").notNull(),
    });
    const pool = mysql.createPool({ uri: db.location, connectionLimit: poolSize });
    const orm = drizzle({ client: pool });
    const columns = { counter: items.counter, version: items.version };
    return {
      read: async (id) => foundRow((await orm.select(columns).from(items).where(eq(items.id, id)))[0], id),
      write: async (id, counter, version) =>
        (
          await orm
            .update(items)
            .set({ counter, version: sql`${items.version} + 1` })
            .where(and(eq(items.id, id), eq(items.version, version)))
        )[0].affectedRows,
      increment: async (id) =>
        (
          await orm
            .update(items)
            .set({ counter: sql`${items.counter} + 1`, version: sql`${items.version} + 1` })
            .where(eq(items.id, id))
        )[0].affectedRows,
      close: () => pool.end(),
    };
  }

  const Sqlite = require("better-sqlite3") as typeof import("better-sqlite3");
  const { drizzle } = await import("drizzle-orm/better-sqlite3");
  const { integer, sqliteTable } = await import("drizzle-orm/sqlite-core");
  const items = sqliteTable("occ_item", {
    id: integer("id").primaryKey(),
    counter: integer("counter").notNull(),
    version: integer("version").notNull(),
  });
  const database = new Sqlite(db.location, { timeout: 10000 });
  const orm = drizzle({ client: database });
  const columns = { counter: items.counter, version: items.version };
  return {
    read: async (id) => foundRow(orm.select(columns).from(items).where(eq(items.id, id)).get(), id),
    write: async (id, counter, version) =>
      orm
        .update(items)
        .set({ counter, version: sql`${items.version} + 1` })
        .where(and(eq(items.id, id), eq(items.version, version)))
        .run().changes,
    increment: async (id) =>
      orm
        .update(items)
        .set({ counter: sql`${items.counter} + 1`, version: sql`${items.version} + 1` })
        .where(eq(items.id, id))
        .run().changes,
    close: async () => void database.close(),
  };
}
