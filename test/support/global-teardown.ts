export default async function globalTeardown(): Promise<void> {
  const globals = globalThis as Record<string, unknown>;
  for (const name of ["__typeormOccReplicas", "__typeormOccPostgres"]) {
    const server = globals[name] as { stop(): Promise<void> } | undefined;
    if (server) await server.stop();
    delete globals[name];
  }
}
