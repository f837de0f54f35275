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
