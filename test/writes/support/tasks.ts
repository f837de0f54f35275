import { setTimeout as sleep } from "node:timers/promises";
import { MoreThanOrEqual, type DataSource } from "typeorm";
import { decrement, insertOnce, lockAggregate, updateIf, updateVersioned, withAdvisoryLock } from "typeorm-occ";
import { Order, OrderLine } from "../../support/entities/aggregate";
import { Account, Payment, ShoppingCart } from "./entities";

/**
 * The concurrent workloads of test/writes, run in this process (PostgreSQL, MariaDB: one call per
 * pool) or in worker processes (SQLite: one call per process, see write-worker.ts).
 *
 * With OCC_WRITES_CONTROL=1 each runs the naive version instead (read, check, then write with
 * plain TypeORM; no lock): the tests must then fail, which shows they detect the race.
 */
const control = process.env.OCC_WRITES_CONTROL === "1";

export interface Outcome {
  ok: boolean;
  /** The error's name when not ok. */
  error?: string;
  message?: string;
  value?: unknown;
}

const settle = async (work: () => Promise<unknown>): Promise<Outcome> => {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    return { ok: false, error: (error as Error).name, message: (error as Error).message };
  }
};

/** `count` concurrent withdrawals of `amount` from one account. */
export function withdrawMany(dataSource: DataSource, accountId: number, count: number, amount: number): Promise<Outcome[]> {
  const accounts = dataSource.getRepository(Account);
  return Promise.all(
    Array.from({ length: count }, () =>
      settle(async () => {
        if (!control) return updateIf(accounts, { id: accountId, balance: MoreThanOrEqual(amount) }, { balance: decrement(amount) });
        const account = await accounts.findOneByOrFail({ id: accountId });
        await sleep(1);
        if (account.balance < amount) throw Object.assign(new Error("insufficient"), { name: "ConditionNotMetError" });
        return accounts.update({ id: accountId }, { balance: account.balance - amount });
      }),
    ),
  );
}

/** `count` concurrent takes of `amount` from an order line's quantity (a member row: its order's version moves too). */
export function takeFromLineMany(dataSource: DataSource, lineId: number, count: number, amount: number): Promise<Outcome[]> {
  const lines = dataSource.getRepository(OrderLine);
  return Promise.all(
    Array.from({ length: count }, () =>
      settle(async () => {
        if (!control) return updateIf(lines, { id: lineId, quantity: MoreThanOrEqual(amount) }, { quantity: decrement(amount) });
        const line = await lines.findOneOrFail({ where: { id: lineId }, relations: { order: true } });
        await sleep(1);
        if (line.quantity < amount) throw Object.assign(new Error("insufficient"), { name: "ConditionNotMetError" });
        line.quantity -= amount;
        return lines.save(line);
      }),
    ),
  );
}

/** `count` concurrent idempotent creates with one key; each resolves to `{ created, id }`. */
export function insertOnceMany(dataSource: DataSource, key: string, count: number): Promise<Outcome[]> {
  const payments = dataSource.getRepository(Payment);
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      settle(async () => {
        if (!control) {
          const { entity, created } = await insertOnce(
            payments,
            { idempotencyKey: key, amount: 100 + i },
            { conflictPaths: ["idempotencyKey"] },
          );
          return { created, id: entity.id, amount: entity.amount, version: entity.version };
        }
        const existing = await payments.findOneBy({ idempotencyKey: key });
        await sleep(1);
        if (existing) return { created: false, id: existing.id, amount: existing.amount, version: existing.version };
        const entity = await payments.save(payments.create({ idempotencyKey: key, amount: 100 + i }));
        return { created: true, id: entity.id, amount: entity.amount, version: entity.version };
      }),
    ),
  );
}

/** `count` concurrent transactions: lock the order, add 1 to one line's quantity, save the order. */
export function lockAndIncrementMany(dataSource: DataSource, orderId: number, lineId: number, count: number): Promise<Outcome[]> {
  return Promise.all(
    Array.from({ length: count }, () =>
      settle(() =>
        dataSource.transaction(async (manager) => {
          const order = control
            ? await manager.findOne(Order, { where: { id: orderId }, relations: { lines: { notes: true } } })
            : await lockAggregate(manager, Order, orderId);
          if (!order) throw new Error(`order ${orderId} not found`);
          const line = order.lines.find((candidate: OrderLine) => candidate.id === lineId)!;
          await sleep(1);
          line.quantity += 1;
          await manager.save(order);
          return order.version;
        }),
      ),
    ),
  );
}

/** `count` concurrent "open a cart unless the customer has one": check, then insert, under an advisory lock. */
export function openCartMany(dataSource: DataSource, customer: string, count: number): Promise<Outcome[]> {
  const openCart = async (manager: DataSource["manager"]) => {
    const open = await manager.findOneBy(ShoppingCart, { customer, status: "open" });
    await sleep(2);
    if (open) return { id: open.id, created: false };
    const cart = await manager.save(manager.create(ShoppingCart, { customer, status: "open" }));
    return { id: cart.id, created: true };
  };
  return Promise.all(
    Array.from({ length: count }, () =>
      settle(() =>
        control ? dataSource.transaction(openCart) : withAdvisoryLock(dataSource, `cart:${customer}`, openCart, { timeoutMs: 30_000 }),
      ),
    ),
  );
}

/** `count` concurrent writes, each against the version `version` the writers all read, adding `amount` to the balance they read. */
export function updateVersionedMany(
  dataSource: DataSource,
  accountId: number,
  version: number,
  balance: number,
  count: number,
): Promise<Outcome[]> {
  const accounts = dataSource.getRepository(Account);
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      settle(async () => {
        if (!control) return updateVersioned(accounts, { id: accountId, version }, { balance: balance + i + 1 });
        await sleep(1);
        return accounts.update({ id: accountId }, { balance: balance + i + 1 });
      }),
    ),
  );
}

export const tasks = { withdrawMany, takeFromLineMany, insertOnceMany, lockAndIncrementMany, openCartMany, updateVersionedMany };
export type TaskName = keyof typeof tasks;
