/**
 * A consumer of the packed typeorm-occ (see test/packaging/packed-package.test.ts): the root and
 * /http entry points as users import them, a versioned save and a stale one on SQLite, a retry.
 * Prints one JSON line of what it saw.
 */
import "reflect-metadata";
import { StaleDataError, withOptimisticRetry, type OccErrorCode, type OptimisticRetryOptions } from "typeorm-occ";
import { occProblemFor } from "typeorm-occ/http";
import { Note, openNotes } from "./note.js";

// The published types must keep TypeORM's isolation levels (they were `any` when a .d.ts imported a
// deep typeorm path that exports-aware resolution cannot see).
const retryOptions: Omit<OptimisticRetryOptions, "dataSource"> = { isolationLevel: "SERIALIZABLE", retries: 2 };
// @ts-expect-error "SOMETIMES" is no isolation level: an error only while the option is typed
export const notALevel: OptimisticRetryOptions = { isolationLevel: "SOMETIMES" };

async function main(): Promise<void> {
  const dataSource = await openNotes();
  const notes = dataSource.getRepository(Note);

  const { id } = await notes.save(notes.create({ text: "first" }));
  const alice = await notes.findOneByOrFail({ id });
  const bob = await notes.findOneByOrFail({ id });
  alice.text = "alice";
  await notes.save(alice);
  bob.text = "bob";
  const stale = await notes.save(bob).then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(stale instanceof StaleDataError)) throw new Error(`expected a StaleDataError, got ${String(stale)}`);

  await withOptimisticRetry(
    async (manager) => {
      const fresh = await manager.findOneByOrFail(Note, { id });
      fresh.text = "retried";
      await manager.save(fresh);
    },
    { ...retryOptions, dataSource },
  );

  const final = await notes.findOneByOrFail({ id });
  await dataSource.destroy();
  console.log(
    JSON.stringify({
      stale: stale.message,
      // The published types keep the literal code (an OccErrorCode, "stale-data" exactly).
      code: stale.code satisfies "stale-data" satisfies OccErrorCode,
      problem: occProblemFor(stale, { hadIfMatch: true })?.status,
      final: { text: final.text, version: final.version },
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
