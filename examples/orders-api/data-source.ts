import { openExampleDatabase, type ExampleDatabase } from "../example-database";
import { OrderLine } from "./order-line.entity";
import { Order } from "./order.entity";

/** The entities the orders API needs, for tests that bring their own DataSource. */
export const orderEntities = [Order, OrderLine];

/**
 * The API's database, empty on every start (so the first order is order 1, as in README's `curl`
 * lines): a new SQLite file under the system's temp directory (WAL mode), or with `DATABASE_URL`
 * the example's own PostgreSQL schema or MariaDB database (see {@link openExampleDatabase}).
 *
 * @example
 * const { dataSource, description } = await openOrdersDatabase();
 */
export function openOrdersDatabase(): Promise<ExampleDatabase> {
  return openExampleDatabase("orders", orderEntities);
}
