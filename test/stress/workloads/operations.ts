import type { EntityManager, EntityTarget } from "typeorm";
import type { Flavor } from "../entities";
import type { OpRecord } from "../history";
import { orderState, type CounterRow, type LineRow, type OrderRow } from "./model";
import { pick } from "./random";

/** What one attempt learned about one entity it touched. */
export type Attempt = Partial<Pick<OpRecord, "versionRead" | "versionWritten" | "stateRead" | "stateWritten" | "op" | "steps">> & {
  /** The transaction committed, but every one of its writes to this entity was refused. */
  untouched?: boolean;
};

/** One read-modify-write operation of a client: the entities it touches, and the work of one attempt. */
export interface Operation {
  /** Every entity the operation changes (a move changes two aggregates). */
  entities: string[];
  /** Must run in one transaction (it reads back what it wrote). */
  needsTransaction?: boolean;
  /**
   * Reads, before each attempt's transaction starts, the copies the transaction will write (a
   * request's earlier read, a cached object); then `work` runs in a transaction of its own.
   */
  readBefore?(manager: EntityManager): Promise<void>;
  work(manager: EntityManager, attempts: Map<string, Attempt>): Promise<void>;
}

/** Lets other clients run between a read and its write, as a user's think time would (no timer involved). */
const yieldToOthers = () => new Promise<void>((resolve) => setImmediate(resolve));

export interface OperationContext {
  flavor: Flavor;
  random: () => number;
  worker: string;
  index: number;
  orders: number[];
}

const entityOf = (kind: string, id: number) => `${kind}:${id}`;

/**
 * Operations on an Order aggregate: through the root (add, change, remove a line; change the note),
 * a line saved on its own through its repository (loaded inside its order), and a line moved to
 * another order by reassigning its relation. With TypeORM's own @VersionColumn the last two move no
 * version at all: the checker sees it.
 */
export function orderOperation(context: OperationContext, id: number): Operation {
  const { flavor, random, worker, index } = context;
  const Order = flavor.Order as EntityTarget<OrderRow>;
  const Line = flavor.Line as EntityTarget<LineRow>;
  const choice = random();
  const quantity = 1 + Math.floor(random() * 1000);
  const label = `${worker}.${index}`;
  const load = (manager: EntityManager, orderId: number) =>
    manager.findOneOrFail(Order, { where: { id: orderId }, relations: { lines: true } });
  const begin = (attempt: Attempt, order: OrderRow) => {
    attempt.versionRead = order.version;
    attempt.stateRead = orderState(order);
  };

  const others = context.orders.filter((candidate) => candidate !== id);
  if (choice >= 0.85 && others.length > 0) {
    const targetId = pick(random, others);
    return {
      entities: [entityOf("order", id), entityOf("order", targetId)],
      async work(manager, attempts) {
        const [from, to] = [await load(manager, id), await load(manager, targetId)];
        const [leaving, joining] = [attempts.get(entityOf("order", id))!, attempts.get(entityOf("order", targetId))!];
        begin(leaving, from);
        begin(joining, to);
        await yieldToOthers();
        if (from.lines.length < 2) {
          // Nothing worth moving: add a line to the first order instead (the second is untouched).
          attempts.delete(entityOf("order", targetId));
          leaving.op = { type: "add-line", label, quantity };
          from.lines.push(manager.create(Line, { label, quantity }));
          leaving.stateWritten = orderState(from);
          await manager.save(Order, from);
          leaving.versionWritten = from.version;
          return;
        }
        const line = pick(random, from.lines) as LineRow & { order?: OrderRow };
        leaving.op = { type: "remove-line", label: line.label };
        joining.op = { type: "add-line", label: line.label, quantity: line.quantity };
        leaving.stateWritten = orderState({ ...from, lines: from.lines.filter((candidate) => candidate !== line) });
        joining.stateWritten = orderState({ ...to, lines: [...to.lines, line] });
        line.order = to;
        await manager.save(Line, line);
        leaving.versionWritten = from.version;
        joining.versionWritten = to.version;
      },
    };
  }

  return {
    entities: [entityOf("order", id)],
    async work(manager, attempts) {
      const attempt = attempts.get(entityOf("order", id))!;
      const order = await load(manager, id);
      begin(attempt, order);
      await yieldToOthers();
      if (order.lines.length < 2 || (choice < 0.3 && order.lines.length < 6)) {
        attempt.op = { type: "add-line", label, quantity };
        order.lines.push(manager.create(Line, { label, quantity }));
      } else if (choice < 0.7) {
        const line = pick(random, order.lines);
        const changed = line.quantity === quantity ? quantity + 1 : quantity;
        attempt.op = { type: "change-line", label: line.label, quantity: changed };
        line.quantity = changed;
        if (choice >= 0.55) {
          // The line alone, through its own repository: checked against the order it was loaded in.
          attempt.stateWritten = orderState(order);
          await manager.save(Line, line);
          attempt.versionWritten = order.version;
          return;
        }
      } else if (choice < 0.8) {
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
    },
  };
}

/**
 * Operations on a counter: read-modify-save, a calculated `update()` (`value = value + 1`, read back
 * in the same transaction), and an `upsert()` of the value read plus one — which typeorm-occ refuses
 * (its update path would not move the version) and TypeORM's own column lets through unversioned.
 */
export function counterOperation(context: OperationContext, id: number): Operation {
  const { flavor, random } = context;
  const Counter = flavor.Counter as EntityTarget<CounterRow>;
  const entity = entityOf("counter", id);
  const choice = random();

  if (choice < 0.15) {
    return {
      entities: [entity],
      needsTransaction: true,
      async work(manager, attempts) {
        const attempt = attempts.get(entity)!;
        attempt.op = { type: "increment" };
        await manager.update(Counter, { id }, { value: () => "value + 1" });
        const counter = await manager.findOneByOrFail(Counter, { id });
        attempt.versionRead = counter.version - 1;
        attempt.stateRead = counter.value - 1;
        attempt.versionWritten = counter.version;
        attempt.stateWritten = counter.value;
      },
    };
  }
  if (choice < 0.25) {
    return {
      entities: [entity],
      needsTransaction: true,
      async work(manager, attempts) {
        const attempt = attempts.get(entity)!;
        const counter = await manager.findOneByOrFail(Counter, { id });
        attempt.versionRead = counter.version;
        attempt.stateRead = counter.value;
        await yieldToOthers();
        attempt.op = { type: "increment" };
        attempt.stateWritten = counter.value + 1;
        await manager.upsert(Counter, { id, value: counter.value + 1 }, ["id"]);
        attempt.versionWritten = (await manager.findOneByOrFail(Counter, { id })).version;
      },
    };
  }
  return {
    entities: [entity],
    async work(manager, attempts) {
      const attempt = attempts.get(entity)!;
      const counter = await manager.findOneByOrFail(Counter, { id });
      attempt.versionRead = counter.version;
      attempt.stateRead = counter.value;
      await yieldToOthers();
      attempt.op = { type: "increment" };
      counter.value += 1;
      attempt.stateWritten = counter.value;
      await manager.save(Counter, counter);
      attempt.versionWritten = counter.version;
    },
  };
}
