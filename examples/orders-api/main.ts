/**
 * `npm run example:api`: the orders API on http://127.0.0.1:3000 (PORT to change it), on SQLite
 * (or PostgreSQL when DATABASE_URL is set).
 */
import { createApp } from "./app";
import { createOrdersDataSource } from "./data-source";

async function main(): Promise<void> {
  const dataSource = await createOrdersDataSource().initialize();
  const port = Number(process.env.PORT ?? 3000);
  const server = createApp(dataSource).listen(port, "127.0.0.1", () => {
    console.log(`orders API on http://127.0.0.1:${port} (${dataSource.options.type})`);
    console.log(`try: curl -i -X POST localhost:${port}/orders -H 'content-type: application/json' -d '{"customer":"Ada","lines":[{"sku":"PEN-1","quantity":2,"unitPriceCents":150}]}'`);
  });
  const stop = () => server.close(() => void dataSource.destroy());
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
