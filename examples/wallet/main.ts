/**
 * `npm run example`: the lost-update story, on a new SQLite file (or, with DATABASE_URL, in the
 * example's own PostgreSQL schema or MariaDB database), from an empty database on every run.
 */
import { ExampleDatabaseRefusedError } from "../example-database";
import { openWalletDatabase } from "./data-source";
import { runWalletStory } from "./story";

async function main(): Promise<void> {
  const { dataSource, description } = await openWalletDatabase();
  try {
    console.log(`typeorm-occ wallet example on ${description}\n`);
    const result = await runWalletStory(dataSource, (line) => console.log(line));
    if (result.finalBalance !== result.expectedBalance) process.exitCode = 1;
  } finally {
    await dataSource.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof ExampleDatabaseRefusedError ? `typeorm-occ wallet example: ${error.message}` : error);
  process.exitCode = 1;
});
