import "reflect-metadata";
import { mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DataSource, type DataSourceOptions } from "typeorm";

/** Written on the schema (PostgreSQL) or database (MariaDB) an example creates, so a later run knows it may drop it. */
const MARKER = "created by the typeorm-occ examples; dropped and created again on every run";

/** An example's database, opened and with its tables created. */
export interface ExampleDatabase {
  dataSource: DataSource;
  /** Where the tables are, for the example's first line of output. */
  description: string;
}

/**
 * The example refuses to run: the schema or database it would drop exists and is not one an
 * example created.
 */
export class ExampleDatabaseRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ExampleDatabaseRefusedError";
  }
}

/**
 * Opens a fresh, empty database for one example and creates its tables (`synchronize: true`), so
 * every run starts from the same state (the wallet is wallet #1, the first order is order 1) and
 * the example never touches a table of yours:
 *
 * - no `DATABASE_URL`: a new SQLite file `<temp dir>/typeorm-occ-examples/<name>.sqlite` (WAL mode),
 *   deleted and made again on every run;
 * - `DATABASE_URL=postgres://…`: the schema `typeorm_occ_example_<name>` in that database;
 * - `DATABASE_URL=mysql://…` or `mariadb://…` (MariaDB 10.5 or later): the database
 *   `typeorm_occ_example_<name>` on that server.
 *
 * The schema or database is dropped and created again on every run, and carries a comment saying
 * so. One with that name that has no such comment was not made by an example: the example refuses
 * with {@link ExampleDatabaseRefusedError} and leaves it alone.
 *
 * @example
 * const { dataSource, description } = await openExampleDatabase("wallet", [Wallet, Deposit]);
 */
export async function openExampleDatabase(name: string, entities: NonNullable<DataSourceOptions["entities"]>): Promise<ExampleDatabase> {
  const url = process.env.DATABASE_URL;
  const own = `typeorm_occ_example_${name.replace(/\W/g, "_")}`;
  if (!url) {
    const dir = join(tmpdir(), "typeorm-occ-examples");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${name}.sqlite`);
    for (const suffix of ["", "-wal", "-shm"]) rmSync(file + suffix, { force: true });
    const dataSource = new DataSource({ type: "better-sqlite3", database: file, enableWAL: true, entities, synchronize: true });
    return { dataSource: await dataSource.initialize(), description: `a new SQLite file, ${file} (made afresh on every run)` };
  }

  const parsed = new URL(url);
  const server = `${parsed.hostname}${parsed.port ? `:${parsed.port}` : ""}${parsed.pathname}`;
  const kind = parsed.protocol.replace(/:$/, "");
  if (kind === "postgres" || kind === "postgresql") {
    await recreate({ type: "postgres", url }, `schema "${own}"`, {
      comment: `SELECT obj_description(oid, 'pg_namespace') AS comment FROM pg_namespace WHERE nspname = $1`,
      drop: `DROP SCHEMA IF EXISTS "${own}" CASCADE`,
      create: [`CREATE SCHEMA "${own}"`, `COMMENT ON SCHEMA "${own}" IS '${MARKER}'`],
      name: own,
    });
    const dataSource = new DataSource({ type: "postgres", url, schema: own, entities, synchronize: true });
    return {
      dataSource: await dataSource.initialize(),
      description: `PostgreSQL ${server}, in the schema "${own}" (made afresh on every run; nothing else in the database is touched)`,
    };
  }
  if (kind === "mysql" || kind === "mariadb") {
    await recreate({ type: "mariadb", url }, `database "${own}"`, {
      comment: "SELECT SCHEMA_COMMENT AS comment FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
      drop: `DROP DATABASE IF EXISTS \`${own}\``,
      create: [`CREATE DATABASE \`${own}\` COMMENT '${MARKER}'`],
      name: own,
    });
    const ownUrl = new URL(url);
    ownUrl.pathname = `/${own}`;
    const dataSource = new DataSource({ type: "mariadb", url: ownUrl.toString(), entities, synchronize: true });
    return {
      dataSource: await dataSource.initialize(),
      description: `MariaDB ${parsed.hostname}${parsed.port ? `:${parsed.port}` : ""}, in the database "${own}" (made afresh on every run; no other database is touched)`,
    };
  }
  throw new ExampleDatabaseRefusedError(
    `DATABASE_URL must start with postgres://, mysql:// or mariadb:// (got ${kind}://…); leave it unset for SQLite`,
  );
}

interface Statements {
  /** Reads the comment of the schema or database called `name`; no row when it does not exist. */
  comment: string;
  drop: string;
  create: string[];
  name: string;
}

/** Drops and creates the example's schema or database, unless one of that name exists that an example did not make. */
async function recreate(options: DataSourceOptions, what: string, statements: Statements): Promise<void> {
  const admin = await new DataSource(options).initialize();
  try {
    const [existing] = (await admin.query(statements.comment, [statements.name])) as Array<{ comment: string | null }>;
    if (existing && existing.comment !== MARKER) {
      throw new ExampleDatabaseRefusedError(
        `the ${what} exists and was not created by a typeorm-occ example, so the example leaves it alone and stops. ` +
          `Drop or rename it yourself, or point DATABASE_URL at another database.`,
      );
    }
    await admin.query(statements.drop);
    for (const statement of statements.create) await admin.query(statement);
  } finally {
    await admin.destroy();
  }
}
