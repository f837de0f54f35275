import { Client } from "pg";
import type { BenchDatabase } from "../databases";

/** The floor: one hand-written, version-checked UPDATE over the raw driver, no ORM. */
export interface RawUpdater {
  update(name: string): Promise<void>;
  close(): Promise<void>;
}

export async function rawUpdater(db: BenchDatabase, tableName: string, id: number, version: number): Promise<RawUpdater> {
  let expected = version;
  const check = (affected: number) => {
    if (affected !== 1) throw new Error(`raw UPDATE matched ${affected} rows (id ${id}, version ${expected})`);
    expected++;
  };

  if (db.driver === "postgres") {
    const client = new Client({ connectionString: db.location });
    await client.connect();
    const sql = `UPDATE ${tableName} SET name = $1, version = version + 1 WHERE id = $2 AND version = $3`;
    return {
      update: async (name) => check((await client.query(sql, [name, id, expected])).rowCount ?? 0),
      close: () => client.end(),
    };
  }

  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Sqlite = require("better-sqlite3") as typeof import("better-sqlite3");
  const database = new Sqlite(db.location, { timeout: 10000 });
  const statement = database.prepare(`UPDATE ${tableName} SET name = ?, version = version + 1 WHERE id = ? AND version = ?`);
  return {
    update: async (name) => check(statement.run(name, id, expected).changes),
    close: async () => void database.close(),
  };
}
