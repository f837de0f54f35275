import { openExampleDatabase, type ExampleDatabase } from "../example-database";
import { Deposit } from "./deposit.entity";
import { Wallet } from "./wallet.entity";

/** The entities the wallet example needs, for tests that bring their own DataSource. */
export const walletEntities = [Wallet, Deposit];

/**
 * The example's database, empty on every run: a new SQLite file under the system's temp directory
 * (better-sqlite3, WAL mode), or with `DATABASE_URL` the example's own PostgreSQL schema or MariaDB
 * database (see {@link openExampleDatabase}).
 *
 * @example
 * const { dataSource, description } = await openWalletDatabase();
 */
export function openWalletDatabase(): Promise<ExampleDatabase> {
  return openExampleDatabase("wallet", walletEntities);
}
