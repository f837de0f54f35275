import type { DataSource, EntityManager, EntityTarget } from "typeorm";
import type { IsolationLevel } from "typeorm/driver/types/IsolationLevel";
import { isRetryableConflict, isSqliteBusy, withOptimisticRetry } from "typeorm-occ";
import type { Flavor } from "../entities";
import type { History, OpRecord } from "../history";
import { orderState, type CounterRow, type LineRow, type OrderRow } from "./model";
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
  /** Called after every finished operation (e.g. to pause a worker for a fault test). */
  afterOp?: (index: number) => Promise<void> | void;
}

/** PostgreSQL's deadlock_detected: the victim's transaction is rolled back, so it is safe to retry. */
export function isDeadlock(error: unknown): boolean {
  const e = error as { code?: unknown; driverError?: { code?: unknown } } | null;
  return (e?.driverError?.code ?? e?.code) === "40P01";
}

/** Conflicts that roll the attempt back and are worth another try. */
export function isConflict(error: unknown): boolean {
  return isRetryableConflict(error) || isSqliteBusy(error) || isDeadlock(error);
}

/** Lets other clients run between a read and its write, as a user's think time would (no timer involved). */
const yieldToOthers = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Name and code of a conflict (grouped in summaries); errors also keep the start of their message. */
function reasonOf(error: unknown, withMessage: boolean): string {
  const e = error as { name?: string; code?: unknown; message?: unknown; driverError?: { code?: unknown } } | null;
  const code = e?.driverError?.code ?? e?.code;
  const reason = [e?.name, typeof code === "string" ? code : undefined].filter(Boolean).join(" ") || String(error);
  return withMessage && typeof e?.message === "string" ? `${reason}: ${e.message.slice(0, 80)}` : reason;
}

type Attempt = Partial<Pick<OpRecord, "versionRead" | "versionWritten" | "stateRead" | "stateWritten" | "op">>;

/**
 * One client: runs `ops` read-modify-write operations one after another through
 * withOptimisticRetry and records every attempt in `history`.
 */
export async function runWorker(
  dataSource: DataSource,
  flavor: Flavor,
  fixtures: Fixtures,
  options: WorkerOptions,
  history: History,
): Promise<void> {
  const random = seededRandom(options.seed);
  const hotShare = options.hotShare ?? 0.2;
  const orderShare = options.orderShare ?? 0.4;
  const Counter = flavor.Counter as EntityTarget<CounterRow>;
  const Order = flavor.Order as EntityTarget<OrderRow>;
  const Line = flavor.Line as EntityTarget<LineRow>;

  for (let index = 0; index < options.ops; index++) {
    const roll = random();
    const inTransaction = options.mode === "transaction" || (options.mode === "mixed" && random() < 0.5);
    let entity: string;
    let work: (manager: EntityManager, attempt: Attempt) => Promise<void>;

    if (roll < orderShare) {
      const id = pick(random, fixtures.orders);
      entity = `order:${id}`;
      const choice = random();
      const quantity = 1 + Math.floor(random() * 1000);
      const label = `${options.worker}.${index}`;
      work = async (manager, attempt) => {
        const order = await manager.findOneOrFail(Order, { where: { id }, relations: { lines: true } });
        attempt.versionRead = order.version;
        attempt.stateRead = orderState(order);
        await yieldToOthers();
        if (order.lines.length < 2 || (choice < 0.35 && order.lines.length < 6)) {
          attempt.op = { type: "add-line", label, quantity };
          order.lines.push(manager.create(Line, { label, quantity }));
        } else if (choice < 0.7) {
          const line = pick(random, order.lines);
          const changed = line.quantity === quantity ? quantity + 1 : quantity;
          attempt.op = { type: "change-line", label: line.label, quantity: changed };
          line.quantity = changed;
        } else if (choice < 0.9) {
          const line = pick(random, order.lines);
          attempt.op = { type: "remove-line", label: line.label };
          order.lines = order.lines.filter((candidate) => candidate !== line);
        } else {
          attempt.op = { type: "note", note: label };
          order.note = label;
        }
        attempt.stateWritten = orderState(order);
        await manager.save(Order, order);
        attempt.versionWritten = order.version;
      };
    } else {
      const id = roll < orderShare + hotShare ? fixtures.hotCounter : pick(random, fixtures.counters);
      entity = `counter:${id}`;
      work = async (manager, attempt) => {
        const counter = await manager.findOneByOrFail(Counter, { id });
        attempt.versionRead = counter.version;
        attempt.stateRead = counter.value;
        await yieldToOthers();
        attempt.op = { type: "increment" };
        counter.value += 1;
        attempt.stateWritten = counter.value;
        await manager.save(Counter, counter);
        attempt.versionWritten = counter.version;
      };
    }

    let current: Attempt = {};
    const record = (outcome: OpRecord["outcome"], error?: unknown, final = true) =>
      history.record({
        worker: options.worker,
        entity,
        op: current.op ?? { type: "unknown" },
        versionRead: current.versionRead ?? null,
        versionWritten: outcome === "acknowledged" ? current.versionWritten ?? null : null,
        stateRead: current.stateRead ?? null,
        stateWritten: current.stateWritten ?? null,
        outcome,
        final,
        ...(error === undefined ? {} : { reason: reasonOf(error, outcome === "error") }),
      });
    const retryOn = (error: unknown) => {
      if (!isConflict(error)) return false;
      record("stale", error, false);
      return true;
    };
    const retry = { retries: options.retries ?? 30, baseDelayMs: 1, maxDelayMs: 20, retryOn };
    try {
      if (inTransaction) {
        await withOptimisticRetry(
          (manager) => {
            current = {};
            return work(manager, current);
          },
          { ...retry, dataSource, isolationLevel: options.isolationLevel },
        );
      } else {
        await withOptimisticRetry(() => {
          current = {};
          return work(dataSource.manager, current);
        }, retry);
      }
      record("acknowledged");
    } catch (error) {
      record(isConflict(error) ? "stale" : "error", error);
    }
    await options.afterOp?.(index);
  }
}
