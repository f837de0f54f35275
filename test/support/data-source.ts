import "reflect-metadata";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { DataSource, type DataSourceOptions, type EntitySchema, type MixedList } from "typeorm";
import type { DriverName } from "./drivers";
import { QueryLog } from "./query-log";

export interface TestDatabase {
  driver: DriverName;
  dataSource: DataSource;
  log: QueryLog;
  /** Opens one more DataSource on the same database (another "process" or pool). */
  open(options?: Partial<DataSourceOptions>): Promise<DataSource>;
  close(): Promise<void>;
}

export interface TestDatabaseOptions {
  entities: MixedList<Function | string | EntitySchema>;
  poolSize?: number;
}

function postgresUrl(): string {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  const host = process.env.PGHOST ?? "127.0.0.1";
  const user = process.env.PGUSER ?? "postgres";
  const password = process.env.PGPASSWORD ? `:${encodeURIComponent(process.env.PGPASSWORD)}` : "";
  return `postgres://${user}${password}@${host}:${process.env.PGPORT ?? 5432}/${process.env.PGDATABASE ?? "test"}`;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/**
 * A fresh, empty database per test file: a new PostgreSQL database, or a new SQLite file in WAL
 * mode. Schemas are created by TypeORM's synchronize.
 */
export async function createTestDatabase(driver: DriverName, options: TestDatabaseOptions): Promise<TestDatabase> {
  const log = new QueryLog();
  const opened: DataSource[] = [];
  let base: DataSourceOptions;
  let dispose: () => Promise<void>;

  if (driver === "postgres") {
    const name = `occ_${randomBytes(6).toString("hex")}`;
    const admin = new Client({ connectionString: postgresUrl() });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    base = { type: "postgres", url: withDatabase(postgresUrl(), name), poolSize: options.poolSize ?? 10 } as DataSourceOptions;
    dispose = async () => {
      const client = new Client({ connectionString: postgresUrl() });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    };
  } else if (driver === "mariadb") {
    const name = `occ_${randomBytes(6).toString("hex")}`;
    const url = new URL(process.env.MARIADB_URL!);
    const mysql = await import("mysql2/promise");
    const admin = await mysql.createConnection(url.toString());
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    url.pathname = `/${name}`;
    base = { type: "mariadb", url: url.toString(), poolSize: options.poolSize ?? 10 } as DataSourceOptions;
    dispose = async () => {
      const client = await mysql.createConnection(process.env.MARIADB_URL!);
      await client.query(`DROP DATABASE IF EXISTS ${name}`);
      await client.end();
    };
  } else {
    const dir = mkdtempSync(join(tmpdir(), "typeorm-occ-sqlite-"));
    base = { type: "better-sqlite3", database: join(dir, "test.sqlite"), enableWAL: true, timeout: 10000 } as DataSourceOptions;
    dispose = async () => rmSync(dir, { recursive: true, force: true });
  }

  const open = async (extra: Partial<DataSourceOptions> = {}) => {
    const dataSource = new DataSource({ ...base, entities: options.entities, ...extra } as DataSourceOptions);
    await dataSource.initialize();
    opened.push(dataSource);
    return dataSource;
  };
  const dataSource = await open({ synchronize: true, logging: ["query"], logger: log } as Partial<DataSourceOptions>);
  log.clear();

  return {
    driver,
    dataSource,
    log,
    open,
    async close() {
      for (const source of opened) if (source.isInitialized) await source.destroy();
      await dispose();
    },
  };
}
