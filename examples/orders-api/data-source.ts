import "reflect-metadata";
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DataSource } from "typeorm";
import { OrderLine } from "./order-line.entity";
import { Order } from "./order.entity";

/** The entities the orders API needs, for tests that bring their own DataSource. */
export const orderEntities = [Order, OrderLine];

/**
 * PostgreSQL when `DATABASE_URL` is set, otherwise an embedded SQLite file (WAL mode) under the
 * system's temp directory.
 *
 * @example
 * const dataSource = await createOrdersDataSource().initialize();
 */
export function createOrdersDataSource(): DataSource {
  const url = process.env.DATABASE_URL;
  if (url) return new DataSource({ type: "postgres", url, entities: orderEntities, synchronize: true });
  const dir = join(tmpdir(), "typeorm-occ-examples");
  mkdirSync(dir, { recursive: true });
  return new DataSource({ type: "better-sqlite3", database: join(dir, "orders.sqlite"), enableWAL: true, entities: orderEntities, synchronize: true });
}
