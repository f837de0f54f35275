import { installPersistenceHook } from "./internals/typeorm-internals";
import { installReadRouting } from "./internals/read-routing";
import { isLibraryWrite } from "./write-guard/library-write-context";
import { persistenceHook } from "./persistence/persistence-hook";
import { readsFromPrimary } from "./replication/primary-reads";

let installed = false;

/**
 * Puts typeorm-occ's checks into TypeORM's save/remove path, and routes to the primary the reads
 * that must see the latest rows: typeorm-occ's own (a read that decides a write) and those made
 * inside `readFromPrimary` and the helpers that open it. Called by every decorator, so an
 * application that decorates an entity cannot forget it; idempotent.
 */
export function ensureInstalled(): void {
  if (installed) return;
  installPersistenceHook(persistenceHook);
  installReadRouting(() => isLibraryWrite() || readsFromPrimary());
  installed = true;
}
