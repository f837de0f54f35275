/**
 * `npm run example:api`: the orders API on http://127.0.0.1:3000 (PORT to change it; 0 for any free
 * port), on a new SQLite file (or, with DATABASE_URL, in the example's own PostgreSQL schema or
 * MariaDB database), from an empty database on every start.
 */
import type { AddressInfo } from "node:net";
import { ExampleDatabaseRefusedError } from "../example-database";
import { createApp } from "./app";
import { openOrdersDatabase } from "./data-source";

async function main(): Promise<void> {
  const { dataSource, description } = await openOrdersDatabase();
  const server = createApp(dataSource).listen(Number(process.env.PORT ?? 3000), "127.0.0.1", () => {
    const { port } = server.address() as AddressInfo;
    console.log(`typeorm-occ orders API on http://127.0.0.1:${port}, data in ${description}`);
    console.log(
      `try: curl -i -X POST localhost:${port}/orders -H 'content-type: application/json' -d '{"customer":"Ada","lines":[{"sku":"PEN-1","quantity":2,"unitPriceCents":150}]}'`,
    );
  });
  server.once("error", (error) => {
    console.error(error);
    process.exitCode = 1;
    void dataSource.destroy();
  });
  const stop = () => server.close(() => void dataSource.destroy());
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof ExampleDatabaseRefusedError ? `typeorm-occ orders API example: ${error.message}` : error);
  process.exitCode = 1;
});
