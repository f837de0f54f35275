export default async function globalTeardown(): Promise<void> {
  const server = (globalThis as Record<string, unknown>).__typeormOccPostgres as { stop(): Promise<void> } | undefined;
  if (server) await server.stop();
}
