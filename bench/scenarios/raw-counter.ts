import type { BenchDatabase } from "../databases";

/** The floor for a calculated update: `UPDATE … SET counter = counter + 1, version = version + 1 WHERE id = ?` over the raw driver. */
export interface RawCounter {
  /** Resolves to the rows the statement matched. */
  increment(id: number): Promise<number>;
  close(): Promise<void>;
}

export async function rawCounter(db: BenchDatabase, tableName: string, poolSize: number): Promise<RawCounter> {
  const sql = `UPDATE ${tableName} SET counter = counter + 1, version = version + 1 WHERE id = `;
  if (db.driver === "postgres") {
    const { Pool } = await import("pg");
    const pool = new Pool({ connectionString: db.location, max: poolSize });
    return {
      increment: async (id) => (await pool.query(`${sql}$1`, [id])).rowCount ?? 0,
      close: () => pool.end(),
    };
  }
  if (db.driver === "mariadb") {
    const mysql = await import("mysql2/promise");
    const pool = mysql.createPool({ uri: db.location, connectionLimit: poolSize });
    return {
      increment: async (id) => ((await pool.query(`${sql}?`, [id])) as unknown as [{ affectedRows: number }])[0].affectedRows,
      close: () => pool.end(),
    };
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Sqlite = require("better-sqlite3") as typeof import("better-sqlite3");
  const database = new Sqlite(db.location, { timeout: 10000 });
  const statement = database.prepare(`${sql}?`);
  return {
    increment: async (id) => statement.run(id).changes,
    close: async () => void database.close(),
  };
}

/**
 * The floor for a version-checked update (scenario 7): `SELECT counter, version` and
 * `UPDATE … SET …, version = version + 1 WHERE id = ? AND version = ?` over the raw driver, the
 * caller keeping track of the version.
 */
export interface RawVersioned {
  read(id: number): Promise<{ counter: number; version: number }>;
  /** `SET counter = counter + 1, version = version + 1 WHERE id = ? AND version = ?`; resolves to the rows it matched. */
  increment(id: number, version: number): Promise<number>;
  /** `SET counter = ?, version = version + 1 WHERE id = ? AND version = ?`; resolves to the rows it matched. */
  write(id: number, counter: number, version: number): Promise<number>;
  close(): Promise<void>;
}

export async function rawVersioned(db: BenchDatabase, tableName: string, poolSize: number): Promise<RawVersioned> {
  const select = `SELECT counter, version FROM ${tableName} WHERE id = `;
  const increment = `UPDATE ${tableName} SET counter = counter + 1, version = version + 1 WHERE id = `;
  const write = `UPDATE ${tableName} SET counter = `;
  const row = (found: { counter: number | string; version: number | string } | undefined, id: number) => {
    if (!found) throw new Error(`raw SELECT found no ${tableName} row ${id}`);
    return { counter: Number(found.counter), version: Number(found.version) };
  };
  if (db.driver === "postgres") {
    const { Pool } = await import("pg");
    const pool = new Pool({ connectionString: db.location, max: poolSize });
    return {
      read: async (id) => row((await pool.query<{ counter: number; version: number }>(`${select}$1`, [id])).rows[0], id),
      increment: async (id, version) => (await pool.query(`${increment}$1 AND version = $2`, [id, version])).rowCount ?? 0,
      write: async (id, counter, version) => (await pool.query(`${write}$1, version = version + 1 WHERE id = $2 AND version = $3`, [counter, id, version])).rowCount ?? 0,
      close: () => pool.end(),
    };
  }
  if (db.driver === "mariadb") {
    const mysql = await import("mysql2/promise");
    const pool = mysql.createPool({ uri: db.location, connectionLimit: poolSize });
    const matched = (result: unknown) => (result as [{ affectedRows: number }])[0].affectedRows;
    return {
      read: async (id) => row(((await pool.query(`${select}?`, [id])) as unknown as [Array<{ counter: number; version: number }>])[0][0], id),
      increment: async (id, version) => matched(await pool.query(`${increment}? AND version = ?`, [id, version])),
      write: async (id, counter, version) => matched(await pool.query(`${write}?, version = version + 1 WHERE id = ? AND version = ?`, [counter, id, version])),
      close: () => pool.end(),
    };
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Sqlite = require("better-sqlite3") as typeof import("better-sqlite3");
  const database = new Sqlite(db.location, { timeout: 10000 });
  const reading = database.prepare(`${select}?`);
  const incrementing = database.prepare(`${increment}? AND version = ?`);
  const writing = database.prepare(`${write}?, version = version + 1 WHERE id = ? AND version = ?`);
  return {
    read: async (id) => row(reading.get(id) as { counter: number; version: number } | undefined, id),
    increment: async (id, version) => incrementing.run(id, version).changes,
    write: async (id, counter, version) => writing.run(counter, id, version).changes,
    close: async () => void database.close(),
  };
}
