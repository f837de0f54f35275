import { installPersistenceHook } from "./internals/typeorm-internals";
import { persistenceHook } from "./persistence-hook";

let installed = false;

/**
 * Puts typeorm-occ's checks into TypeORM's save/remove path. Called by every decorator, so an
 * application that decorates an entity cannot forget it; idempotent.
 */
export function ensureInstalled(): void {
  if (installed) return;
  installPersistenceHook(persistenceHook);
  installed = true;
}
