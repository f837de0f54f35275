import "reflect-metadata";
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DataSource } from "typeorm";
import { Deposit } from "./deposit.entity";
import { Wallet } from "./wallet.entity";

/** The entities the wallet example needs, for tests that bring their own DataSource. */
export const walletEntities = [Wallet, Deposit];

/**
 * The example's database: PostgreSQL when `DATABASE_URL` is set, otherwise an embedded SQLite file
 * (better-sqlite3, WAL mode) under the system's temp directory.
 *
 * @example
 * const dataSource = await createWalletDataSource().initialize();
 */
export function createWalletDataSource(): DataSource {
  const url = process.env.DATABASE_URL;
  if (url) {
    return new DataSource({ type: "postgres", url, entities: walletEntities, synchronize: true });
  }
  const dir = join(tmpdir(), "typeorm-occ-examples");
  mkdirSync(dir, { recursive: true });
  return new DataSource({
    type: "better-sqlite3",
    database: join(dir, "wallet.sqlite"),
    enableWAL: true,
    entities: walletEntities,
    synchronize: true,
  });
}

/** Where the SQLite file lives, for the story's first line ("postgres" when DATABASE_URL is set). */
export function describeDatabase(dataSource: DataSource): string {
  const options = dataSource.options;
  return options.type === "better-sqlite3" ? `SQLite file ${String(options.database)}` : options.type;
}
