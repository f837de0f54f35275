import { AsyncLocalStorage } from "node:async_hooks";

/**
 * Marks statements typeorm-occ sends itself (or lets TypeORM send on its behalf inside a guarded
 * save), so the write guard that refuses unguarded writes through TypeORM's other entry points
 * lets them through. Async context, not a flag on shared objects: concurrent callers never see
 * each other's marks.
 */
const libraryWrites = new AsyncLocalStorage<true>();

/** Runs `work` with every statement it sends treated as the library's own. */
export function runLibraryWrite<T>(work: () => Promise<T>): Promise<T> {
  return libraryWrites.run(true, work);
}

/** True while a statement is being sent by typeorm-occ itself. */
export function isLibraryWrite(): boolean {
  return libraryWrites.getStore() === true;
}
