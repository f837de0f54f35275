/**
 * `npm run example`: the lost-update story on SQLite (or PostgreSQL when DATABASE_URL is set).
 */
import { createWalletDataSource, describeDatabase } from "./data-source";
import { runWalletStory } from "./story";

async function main(): Promise<void> {
  const dataSource = await createWalletDataSource().initialize();
  try {
    console.log(`typeorm-occ wallet example on ${describeDatabase(dataSource)}\n`);
    const result = await runWalletStory(dataSource, (line) => console.log(line));
    if (result.finalBalance !== result.expectedBalance) process.exitCode = 1;
  } finally {
    await dataSource.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
