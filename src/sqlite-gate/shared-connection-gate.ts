import { AsyncLocalStorage } from "node:async_hooks";
import type { DataSource, QueryRunner } from "typeorm";
import { SharedConnectionBusyError } from "../errors";
import { hasGuardedEntities } from "../metadata/guarded-entities";
import { routeSharedRunnerQueries } from "../internals/typeorm-internals";

/**
 * Some TypeORM drivers (better-sqlite3 and the other SQLite drivers) give every caller the same
 * query runner, so two overlapping writers run inside one transaction: when one of them fails (a
 * StaleDataError, far more common with version checks) its rollback also undoes the other
 * caller's already acknowledged write. On such a DataSource, write units — a save()/remove()
 * call, a `transaction()`, a query-builder write (update(), insert(), increment(), …), a raw query
 * — run one at a time. SQLite has a single writer anyway. A read outside any unit waits too: on the
 * shared connection it would run inside the holder's open transaction and see its uncommitted rows.
 *
 * Re-entrant: work started inside a unit (a save with the global repository inside
 * `dataSource.transaction`) joins it as in plain TypeORM instead of waiting for itself. A unit
 * waits at most the DataSource's `timeout` (SQLite's busy timeout, 5 s by default), then fails
 * with {@link SharedConnectionBusyError} instead of hanging when the holder awaits it.
 *
 * Only DataSources with typeorm-occ entities are gated: with plain entities alone, TypeORM
 * behaves exactly as without the library.
 */
class WriteGate {
  private held = false;
  private readonly waiting: (() => void)[] = [];
  /** The unit holding the gate now: work carrying an older unit's context (a timer it left behind) must queue. */
  holder: object | undefined;

  constructor(private readonly timeoutMs: number) {}

  async run<T>(unit: object, work: () => Promise<T>): Promise<T> {
    await this.acquire();
    this.holder = unit;
    try {
      return await work();
    } finally {
      this.holder = undefined;
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (!this.held) {
      this.held = true;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const grant = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiting.splice(this.waiting.indexOf(grant), 1);
        reject(new SharedConnectionBusyError(this.timeoutMs));
      }, this.timeoutMs);
      this.waiting.push(grant);
    });
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.held = false;
  }
}

/** The units (gate and unit token) the current async context runs inside. */
const heldGates = new AsyncLocalStorage<ReadonlyMap<WriteGate, object>>();
const gates = new WeakMap<DataSource, WriteGate | null>();
const sharedRunners = new WeakMap<DataSource, QueryRunner | null>();

/** The one query runner a driver hands every caller, or undefined for pooled drivers. */
export function sharedQueryRunnerOf(dataSource: DataSource): QueryRunner | undefined {
  let runner = sharedRunners.get(dataSource);
  if (runner === undefined) {
    // Asked of the driver itself rather than assumed from its name.
    const first = dataSource.createQueryRunner();
    const second = dataSource.createQueryRunner();
    runner = first === second ? first : null;
    if (!runner) void Promise.all([first.release(), second.release()]);
    sharedRunners.set(dataSource, runner);
  }
  return runner ?? undefined;
}

function gateOf(dataSource: DataSource): WriteGate | null {
  let gate = gates.get(dataSource);
  if (gate === undefined) {
    if (!dataSource.isInitialized) return null; // entities unknown yet: decide once they are
    const timeout = (dataSource.options as { timeout?: unknown }).timeout;
    const shared = sharedQueryRunnerOf(dataSource);
    gate = shared && hasGuardedEntities(dataSource) ? new WriteGate(typeof timeout === "number" ? timeout : 5000) : null;
    gates.set(dataSource, gate);
    if (shared && gate) routeSharedRunnerQueries(shared, (work) => runWriteUnit(dataSource, work));
  }
  return gate;
}

/** Runs one write unit, exclusively when the DataSource shares a single connection. */
export function runWriteUnit<T>(dataSource: DataSource, work: () => Promise<T>): Promise<T> {
  const gate = gateOf(dataSource);
  if (!gate) return work();
  const held = heldGates.getStore();
  // Re-entrant only while the unit this context belongs to still holds the gate.
  if (held?.get(gate) !== undefined && held.get(gate) === gate.holder) return work();
  const unit = {};
  return gate.run(unit, () => heldGates.run(new Map([...(held ?? []), [gate, unit]]), work));
}
