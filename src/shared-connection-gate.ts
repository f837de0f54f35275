import { AsyncLocalStorage } from "node:async_hooks";
import type { DataSource } from "typeorm";

/**
 * Some TypeORM drivers (better-sqlite3 and the other SQLite drivers) give every caller the same
 * query runner, so two overlapping saves run inside one transaction: when one of them fails (a
 * StaleDataError, far more common with version checks) its rollback also undoes the other
 * caller's already acknowledged write. On such a DataSource, write units — a standalone
 * `save()`/`remove()` or a `transaction()` — run one at a time. SQLite has a single writer anyway.
 *
 * Re-entrant: work started inside a unit (a save with the global repository inside
 * `dataSource.transaction`) joins it as in plain TypeORM instead of waiting for itself.
 */
class WriteGate {
  private tail: Promise<void> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise((resolve) => (release = resolve));
    return previous.then(work).finally(release);
  }
}

const heldGates = new AsyncLocalStorage<ReadonlySet<WriteGate>>();
const gates = new WeakMap<DataSource, WriteGate | null>();

function gateOf(dataSource: DataSource): WriteGate | null {
  let gate = gates.get(dataSource);
  if (gate === undefined) {
    // Asked of the driver itself rather than assumed from its name.
    const first = dataSource.createQueryRunner();
    const second = dataSource.createQueryRunner();
    gate = first === second ? new WriteGate() : null;
    if (!gate) void Promise.all([first.release(), second.release()]);
    gates.set(dataSource, gate);
  }
  return gate;
}

/** Runs one write unit, exclusively when the DataSource shares a single connection. */
export function runWriteUnit<T>(dataSource: DataSource, work: () => Promise<T>): Promise<T> {
  const gate = gateOf(dataSource);
  if (!gate) return work();
  const held = heldGates.getStore();
  if (held?.has(gate)) return work();
  return gate.run(() => heldGates.run(new Set([...(held ?? []), gate]), work));
}
