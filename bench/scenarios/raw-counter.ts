import type { BenchDatabase } from "../databases";

/**
 * A counter row written without TypeORM: the raw driver here, Drizzle in ./drizzle-client.ts. Each
 * method is one statement; the caller keeps track of the version.
 */
export interface DirectClient {
  /** `SELECT counter, version … WHERE id = ?` */
  read(id: number): Promise<{ counter: number; version: number }>;
  /** `UPDATE … SET counter = ?, version = version + 1 WHERE id = ? AND version = ?`; resolves to the rows it matched. */
  write(id: number, counter: number, version: number): Promise<number>;
  /** `UPDATE … SET counter = counter + 1, version = version + 1 WHERE id = ?`; resolves to the rows it matched. */
  increment(id: number): Promise<number>;
  close(): Promise<void>;
}

/** The row a SELECT found, as numbers (pg returns bigint columns as strings). */
export function foundRow(
  found: { counter: number | string; version: number | string } | undefined,
  id: number,
): { counter: number; version: number } {
  if (!found) throw new Error(`no occ_item row ${id}`);
  return { counter: Number(found.counter), version: Number(found.version) };
}

/** The floor: hand-written SQL over the raw driver (`pg.Pool`, a `mysql2` pool, prepared `better-sqlite3` statements). */
export async function rawClient(db: BenchDatabase, poolSize: number): Promise<DirectClient> {
  const select = "SELECT counter, version FROM occ_item WHERE id = ";
  const write = "UPDATE occ_item SET counter = ?, version = version + 1 WHERE id = ? AND version = ?";
  const increment = "UPDATE occ_item SET counter = counter + 1, version = version + 1 WHERE id = ?";
  if (db.driver === "postgres") {
    const { Pool } = await import("pg");
    const pool = new Pool({ connectionString: db.location, max: poolSize });
    const [writeSql, incrementSql] = [write.replace("?", "$1").replace("?", "$2").replace("?", "$3"), increment.replace("?", "$1")];
    return {
      read: async (id) => foundRow((await pool.query(`${select}$1`, [id])).rows[0], id),
      write: async (id, counter, version) => (await pool.query(writeSql, [counter, id, version])).rowCount ?? 0,
      increment: async (id) => (await pool.query(incrementSql, [id])).rowCount ?? 0,
      close: () => pool.end(),
    };
  }
  if (db.driver === "mariadb") {
    const mysql = await import("mysql2/promise");
    const pool = mysql.createPool({ uri: db.location, connectionLimit: poolSize });
    const matched = (result: unknown) => (result as [{ affectedRows: number }])[0].affectedRows;
    return {
      read: async (id) =>
        foundRow(((await pool.query(`${select}?`, [id])) as unknown as [Array<{ counter: number; version: number }>])[0][0], id),
      write: async (id, counter, version) => matched(await pool.query(write, [counter, id, version])),
      increment: async (id) => matched(await pool.query(increment, [id])),
      close: () => pool.end(),
    };
  }

  const Sqlite = require("better-sqlite3") as typeof import("better-sqlite3");
  const database = new Sqlite(db.location, { timeout: 10000 });
  const [reading, writing, incrementing] = [database.prepare(`${select}?`), database.prepare(write), database.prepare(increment)];
  return {
    read: async (id) => foundRow(reading.get(id) as { counter: number; version: number } | undefined, id),
    write: async (id, counter, version) => writing.run(counter, id, version).changes,
    increment: async (id) => incrementing.run(id).changes,
    close: async () => void database.close(),
  };
}
