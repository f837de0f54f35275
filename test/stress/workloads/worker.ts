import { OptimisticLockVersionMismatchError, type DataSource, type EntityManager } from "typeorm";
import type { IsolationLevel } from "typeorm/driver/types/IsolationLevel";
import { isRetryableConflict, isSqliteBusy, withOptimisticRetry } from "typeorm-occ";
import type { Flavor } from "../entities";
import type { History, OpRecord } from "../history";
import { multiStepCounterOperation, multiStepOrderOperation } from "./multi-step";
import { counterOperation, orderOperation, type Attempt, type Operation, type OperationContext } from "./operations";
import { pick, seededRandom } from "./random";

/** The rows a workload runs on (ids created by {@link seedFixtures}). */
export interface Fixtures {
  counters: number[];
  /** The one row every worker fights over. */
  hotCounter: number;
  orders: number[];
}

export interface WorkerOptions {
  worker: string;
  ops: number;
  seed: number;
  /** `detached`: read, then save in its own transaction (a web request cycle); `transaction`: load and save in one transaction. */
  mode: "detached" | "transaction" | "mixed";
  isolationLevel?: IsolationLevel;
  /** Defaults to 30. */
  retries?: number;
  /** Share of operations on the hot counter; defaults to 0.2. Orders get 0.4, spread counters the rest. */
  hotShare?: number;
  /** Share of order operations; defaults to 0.4. */
  orderShare?: number;
  /**
   * Share of operations that are multi-step transactions (save(), updateVersioned, updateIf,
   * insertOnce on one row or aggregate; see multi-step.ts) instead of single read-modify-writes.
   * Defaults to 0.
   */
  multiStepShare?: number;
  /** Called after every finished operation (e.g. to pause a worker for a fault test). */
  afterOp?: (index: number) => Promise<void> | void;
}

/** PostgreSQL's deadlock_detected: the victim's transaction is rolled back, so it is safe to retry. */
export function isDeadlock(error: unknown): boolean {
  const e = error as { code?: unknown; driverError?: { code?: unknown } } | null;
  return (e?.driverError?.code ?? e?.code) === "40P01";
}

/**
 * Conflicts that roll the attempt back and are worth another try (TypeORM's own version mismatch:
 * the plain control's version-checked update, see flavor-writes.ts).
 */
export function isConflict(error: unknown): boolean {
  return isRetryableConflict(error) || isSqliteBusy(error) || isDeadlock(error) || error instanceof OptimisticLockVersionMismatchError;
}

/** Name and code of a conflict (grouped in summaries); errors also keep the start of their message. */
function reasonOf(error: unknown, withMessage: boolean): string {
  const e = error as { name?: string; code?: unknown; message?: unknown; driverError?: { code?: unknown } } | null;
  const code = e?.driverError?.code ?? e?.code;
  const reason = [e?.name, typeof code === "string" ? code : undefined].filter(Boolean).join(" ") || String(error);
  return withMessage && typeof e?.message === "string" ? `${reason}: ${e.message.slice(0, 80)}` : reason;
}

let runs = 0;

/**
 * One client: runs `ops` read-modify-write operations one after another through
 * withOptimisticRetry and records every attempt in `history` (one record per entity it touches).
 */
export async function runWorker(
  dataSource: DataSource,
  flavor: Flavor,
  fixtures: Fixtures,
  options: WorkerOptions,
  history: History,
): Promise<void> {
  const random = seededRandom(options.seed);
  const run = runs++; // operation ids stay unique when one worker name runs several batches
  const hotShare = options.hotShare ?? 0.2;
  const orderShare = options.orderShare ?? 0.4;
  const multiStepShare = options.multiStepShare ?? 0;

  for (let index = 0; index < options.ops; index++) {
    const roll = random();
    const transactionRoll = random();
    const multiStep = multiStepShare > 0 && random() < multiStepShare;
    const context: OperationContext = { flavor, random, worker: options.worker, index, orders: fixtures.orders };
    const operation: Operation =
      roll < orderShare
        ? (multiStep ? multiStepOrderOperation : orderOperation)(context, pick(random, fixtures.orders))
        : (multiStep ? multiStepCounterOperation : counterOperation)(
            context,
            roll < orderShare + hotShare ? fixtures.hotCounter : pick(random, fixtures.counters),
          );
    const inTransaction =
      operation.needsTransaction || options.mode === "transaction" || (options.mode === "mixed" && transactionRoll < 0.5);

    let current = new Map<string, Attempt>();
    const fresh = () => (current = new Map(operation.entities.map((entity) => [entity, {}])));
    fresh(); // an attempt that fails before its work starts (no connection) still accounts for every entity
    const record = (outcome: OpRecord["outcome"], error?: unknown, final = true) => {
      for (const [entity, attempt] of current) {
        // An entity every write of which its committed transaction refused was not written: stale.
        // A rolled-back attempt's steps wrote nothing and are left out (an indeterminate one's are kept).
        const untouched = outcome === "acknowledged" && attempt.untouched;
        const steps = outcome === "acknowledged" || outcome === "error" ? attempt.steps : undefined;
        history.record({
          worker: options.worker,
          operation: `${options.worker}#${run}.${index}`,
          entity,
          op: attempt.op ?? { type: "unknown" },
          versionRead: attempt.versionRead ?? null,
          versionWritten: outcome === "acknowledged" && !untouched ? (attempt.versionWritten ?? null) : null,
          stateRead: attempt.stateRead ?? null,
          stateWritten: attempt.stateWritten ?? null,
          outcome: untouched ? "stale" : outcome,
          final,
          ...(error === undefined ? {} : { reason: reasonOf(error, outcome === "error") }),
          ...(untouched ? { reason: "every write refused" } : {}),
          ...(steps ? { steps } : {}),
        });
      }
    };
    const retryOn = (error: unknown) => {
      if (!isConflict(error)) return false;
      record("stale", error, false);
      return true;
    };
    const retry = { retries: options.retries ?? 30, baseDelayMs: 1, maxDelayMs: 20, retryOn };
    try {
      if (operation.readBefore) {
        // Copies read first, outside the transaction that then writes them (as a request would hold them).
        const readBefore = operation.readBefore.bind(operation);
        await withOptimisticRetry(async () => {
          fresh();
          await readBefore(dataSource.manager);
          const work = (manager: EntityManager) => operation.work(manager, current);
          await (options.isolationLevel ? dataSource.transaction(options.isolationLevel, work) : dataSource.transaction(work));
        }, retry);
      } else if (inTransaction) {
        await withOptimisticRetry(
          (manager) => {
            fresh();
            return operation.work(manager, current);
          },
          { ...retry, dataSource, isolationLevel: options.isolationLevel },
        );
      } else {
        await withOptimisticRetry(() => {
          fresh();
          return operation.work(dataSource.manager, current);
        }, retry);
      }
      record("acknowledged");
    } catch (error) {
      record(isConflict(error) ? "stale" : isRefusal(error) ? "refused" : "error", error);
    }
    await options.afterOp?.(index);
  }
}

/** A write the library refused before sending anything (a typed error naming the safe path). */
function isRefusal(error: unknown): boolean {
  return (error as { name?: unknown } | null)?.name === "UnguardedWriteError";
}
