import type { EntityManager, EntityTarget } from "typeorm";
import type { StepRecord } from "../history";
import { writesOf, type FlavorWrites } from "./flavor-writes";
import { orderState, type CounterRow, type LineRow, type OrderRow } from "./model";
import type { Attempt, Operation, OperationContext } from "./operations";
import { pick } from "./random";

/**
 * Multi-step transactions: save(), updateVersioned, updateIf (increment) and insertOnce on the same
 * row or aggregate inside one transaction, with copies read before the transaction or inside it
 * before its own writes. A write from a copy that predates the transaction's own write must be
 * refused (the transaction goes on without it); a copy read after those writes must pass, and the
 * version moves once per transaction.
 *
 * Each transaction first reads the entity it writes, locked (SQLite: its one writer at a time
 * refuses a transaction that read before another's commit), so the history knows the state and
 * version its writes start from even when the first write reads nothing (an increment, an insert).
 * Every write is recorded as a step, acknowledged or refused; at the end the transaction reads back
 * the version it leaves.
 */
export type CounterShape = "versioned-then-save" | "versioned-twice" | "two-copies" | "increment-then-save";
export type OrderShape =
  | "increment-then-save"
  | "read-inside-increment-then-save"
  | "insert-then-save"
  | "insert-then-save-without-lines"
  | "versioned-then-save"
  | "two-copies"
  | "fresh-after-own-writes";

const COUNTER_SHAPES: CounterShape[] = ["versioned-then-save", "versioned-twice", "two-copies", "increment-then-save"];
const ORDER_SHAPES: OrderShape[] = [
  "increment-then-save",
  "read-inside-increment-then-save",
  "insert-then-save",
  "insert-then-save-without-lines",
  "versioned-then-save",
  "two-copies",
  "fresh-after-own-writes",
];

/** Runs one write as a step of the transaction and records how it ended. */
type Step = (op: StepRecord["op"], stateRead: StepRecord["stateRead"], write: () => Promise<number | void>) => Promise<boolean>;

function stepsOf(attempt: Attempt, writes: FlavorWrites): Step {
  const steps: StepRecord[] = (attempt.steps = []);
  return async (op, stateRead, write) => {
    try {
      const reported = await write();
      steps.push({ op, stateRead, outcome: "acknowledged", ...(typeof reported === "number" ? { versionReported: reported } : {}) });
      return true;
    } catch (error) {
      // The first write meets other clients' writes: its conflict rolls the attempt back (and it is
      // retried). A later one is refused for what this transaction itself did, and the transaction goes on.
      if (steps.length === 0 || !writes.isStale(error)) throw error;
      steps.push({ op, stateRead, outcome: "stale", reason: (error as { name?: string }).name ?? String(error) });
      return false;
    }
  };
}

const isSqlite = (manager: EntityManager) => ["better-sqlite3", "sqlite"].includes(manager.connection.options.type);
const locked = (manager: EntityManager) => (isSqlite(manager) ? {} : { lock: { mode: "pessimistic_write" as const } });

/** Operations for the multi-step workload on a counter. */
export function multiStepCounterOperation(context: OperationContext, id: number): Operation {
  const { flavor, random } = context;
  const Counter = flavor.Counter as EntityTarget<CounterRow>;
  const writes = writesOf(flavor);
  const entity = `counter:${id}`;
  const shape = pick(random, COUNTER_SHAPES);
  let copies: CounterRow[] = [];

  const begin = async (manager: EntityManager, attempt: Attempt) => {
    attempt.op = { type: `counter ${shape}` };
    const base = await manager.findOneOrFail(Counter, { where: { id }, ...locked(manager) });
    attempt.versionRead = base.version;
    attempt.stateRead = base.value;
    return stepsOf(attempt, writes);
  };
  const save = (manager: EntityManager, copy: CounterRow) => async () => (await manager.save(Counter, copy)).version;
  /** Adds `by` to a copy's value and saves it: an increment as long as the copy is current. */
  const addAndSave = (step: Step, manager: EntityManager, copy: CounterRow, by: number) => {
    const read = copy.value;
    copy.value += by;
    return step({ type: "increment", by }, read, save(manager, copy));
  };

  return {
    entities: [entity],
    needsTransaction: true,
    readBefore:
      shape === "increment-then-save"
        ? undefined
        : async (manager) => {
            copies = [await manager.findOneByOrFail(Counter, { id }), await manager.findOneByOrFail(Counter, { id })];
          },
    async work(manager, attempts) {
      const attempt = attempts.get(entity)!;
      const step = await begin(manager, attempt);
      const [copy, other] = copies;
      switch (shape) {
        case "versioned-then-save": {
          // updateVersioned from the copy's version, then save() of that copy: it predates the update.
          await step({ type: "increment", by: 1 }, copy.value, () =>
            writes.updateVersioned(manager, Counter, { id, version: copy.version }, { value: copy.value + 1 }),
          );
          await addAndSave(step, manager, copy, 10);
          break;
        }
        case "versioned-twice": {
          // The same key twice: the second is stale; the version the first returned is current.
          let version = copy.version;
          await step(
            { type: "increment", by: 1 },
            copy.value,
            async () =>
              (version = await writes.updateVersioned(manager, Counter, { id, version: copy.version }, { value: copy.value + 1 })),
          );
          await step({ type: "increment", by: 2 }, copy.value, () =>
            writes.updateVersioned(manager, Counter, { id, version: copy.version }, { value: copy.value + 2 }),
          );
          await step({ type: "increment", by: 3 }, copy.value + 1, () =>
            writes.updateVersioned(manager, Counter, { id, version }, { value: copy.value + 4 }),
          );
          break;
        }
        case "two-copies": {
          // Two copies read before the transaction, saved one after the other; then one read inside it.
          await addAndSave(step, manager, copy, 1);
          await addAndSave(step, manager, other, 2);
          await addAndSave(step, manager, await manager.findOneByOrFail(Counter, { id }), 4);
          break;
        }
        case "increment-then-save": {
          // A copy read inside the transaction, an increment, then save() of the copy.
          const inside = await manager.findOneByOrFail(Counter, { id });
          await step({ type: "increment", by: 3 }, null, () => writes.increment(manager, Counter, id, "value", 3));
          await addAndSave(step, manager, inside, 5);
          break;
        }
      }
      const after = await manager.findOneByOrFail(Counter, { id });
      finish(attempt, after.version, after.value);
    },
  };
}

/** Operations for the multi-step workload on an Order aggregate (its lines: updateIf and insertOnce). */
export function multiStepOrderOperation(context: OperationContext, id: number): Operation {
  const { flavor, random, worker, index } = context;
  const Order = flavor.Order as EntityTarget<OrderRow>;
  const Line = flavor.Line as EntityTarget<LineRow>;
  const writes = writesOf(flavor);
  const entity = `order:${id}`;
  const shape = pick(random, ORDER_SHAPES);
  const quantities = [1, 2, 3].map(() => 1 + Math.floor(random() * 1000));
  const labels = [1, 2, 3].map((n) => `${worker}.m${index}.${n}`);
  const note = `${worker}.m${index}`;
  let copies: OrderRow[] = [];

  const load = (manager: EntityManager) => manager.findOneOrFail(Order, { where: { id }, relations: { lines: true } });
  const save = (manager: EntityManager, copy: OrderRow) => async () => (await manager.save(Order, copy)).version;
  const insertLine = (step: Step, manager: EntityManager, n: number) =>
    step({ type: "add-line", label: labels[n], quantity: quantities[n] }, null, () =>
      writes.insertOnce(manager, Line, { ref: labels[n], label: labels[n], quantity: quantities[n], order: { id } }),
    );
  /** updateIf on one line (`quantity + 5`), or insertOnce of a new line when there is none. */
  const incrementOrInsert = (step: Step, manager: EntityManager, lines: LineRow[], n: number) => {
    if (lines.length === 0) return insertLine(step, manager, n);
    const line = pick(random, lines);
    return step({ type: "increment-line", label: line.label, by: 5 }, null, () => writes.increment(manager, Line, line.id!, "quantity", 5));
  };
  const saveNote = (step: Step, manager: EntityManager, copy: OrderRow) => {
    const read = orderState(copy);
    copy.note = note;
    return step({ type: "note", note }, read, save(manager, copy));
  };

  return {
    entities: [entity],
    needsTransaction: true,
    readBefore: ["read-inside-increment-then-save", "insert-then-save-without-lines", "fresh-after-own-writes"].includes(shape)
      ? undefined
      : async (manager) => {
          copies = [await load(manager), await load(manager)];
        },
    async work(manager, attempts) {
      const attempt = attempts.get(entity)!;
      attempt.op = { type: `order ${shape}` };
      await manager.findOneOrFail(Order, { where: { id }, ...locked(manager) });
      const base = await load(manager);
      attempt.versionRead = base.version;
      attempt.stateRead = orderState(base);
      const step = stepsOf(attempt, writes);
      const [copy, other] = copies;
      switch (shape) {
        case "increment-then-save":
          // An increment on a line, then save() of the order read before the transaction (its lines loaded).
          await incrementOrInsert(step, manager, base.lines, 0);
          await saveNote(step, manager, copy);
          break;
        case "read-inside-increment-then-save": {
          const inside = await load(manager);
          await incrementOrInsert(step, manager, inside.lines, 0);
          await saveNote(step, manager, inside);
          break;
        }
        case "insert-then-save":
          // insertOnce of a line, then save() of the order read before with its lines: it must not detach the new one.
          await insertLine(step, manager, 0);
          await saveNote(step, manager, copy);
          break;
        case "insert-then-save-without-lines": {
          // The order read without its lines does not carry the new line: its note may be saved. insertOnce again is a no-op.
          const root = await manager.findOneByOrFail(Order, { id });
          await insertLine(step, manager, 0);
          await step({ type: "note", note }, null, async () => {
            root.note = note;
            return (await manager.save(Order, root)).version;
          });
          await insertLine(step, manager, 0);
          break;
        }
        case "versioned-then-save": {
          // updateVersioned of the root from the copy's version, then save() of that copy with a line changed.
          const read = orderState(copy);
          await step({ type: "note", note }, read, () =>
            writes.updateVersioned(manager, Order, { id: copy.id, version: copy.version }, { note }),
          );
          if (copy.lines.length === 0) {
            copy.lines.push(manager.create(Line, { label: labels[1], quantity: quantities[1] }));
            await step({ type: "add-line", label: labels[1], quantity: quantities[1] }, read, save(manager, copy));
          } else {
            const line = pick(random, copy.lines);
            line.quantity = line.quantity === quantities[1] ? quantities[1] + 1 : quantities[1];
            await step({ type: "change-line", label: line.label, quantity: line.quantity }, read, save(manager, copy));
          }
          break;
        }
        case "two-copies": {
          // Two copies read before the transaction: a line added through one, then the other's note saved.
          const read = orderState(copy);
          copy.lines.push(manager.create(Line, { label: labels[1], quantity: quantities[1] }));
          await step({ type: "add-line", label: labels[1], quantity: quantities[1] }, read, save(manager, copy));
          await saveNote(step, manager, other);
          break;
        }
        case "fresh-after-own-writes": {
          // Own writes first, then a copy read after them: it shows them, so its save passes.
          await incrementOrInsert(step, manager, base.lines, 0);
          await insertLine(step, manager, 1);
          await saveNote(step, manager, await load(manager));
          break;
        }
      }
      const after = await load(manager);
      finish(attempt, after.version, orderState(after));
    },
  };
}

/** The version and state the transaction leaves; an entity every write of which was refused stays untouched. */
function finish(attempt: Attempt, version: number, state: unknown): void {
  attempt.versionWritten = version;
  attempt.stateWritten = state;
  attempt.untouched = !attempt.steps?.some((step) => step.outcome === "acknowledged");
}
