import type { DataSource, EntityTarget } from "typeorm";
import type { FinalState } from "../checker";
import type { Flavor } from "../entities";
import type { History } from "../history";
import { orderState, type CounterRow, type OrderRow } from "./model";
import type { Fixtures } from "./worker";

/** Inserts the rows a workload runs on and records each insert (version 1) in the history. */
export async function seedFixtures(
  dataSource: DataSource,
  flavor: Flavor,
  sizes: { counters: number; orders: number },
  history: History,
): Promise<Fixtures> {
  const counterRepo = dataSource.getRepository(flavor.Counter as EntityTarget<CounterRow>);
  const orderRepo = dataSource.getRepository(flavor.Order as EntityTarget<OrderRow>);
  const counters: number[] = [];
  for (let i = 0; i < sizes.counters + 1; i++) {
    const counter = await counterRepo.save(counterRepo.create({ value: 0 }));
    counters.push(counter.id);
    history.record({
      worker: "setup",
      entity: `counter:${counter.id}`,
      op: { type: "insert" },
      versionRead: null,
      versionWritten: counter.version,
      stateRead: null,
      stateWritten: 0,
      outcome: "acknowledged",
    });
  }
  const orders: number[] = [];
  for (let i = 0; i < sizes.orders; i++) {
    const order = await orderRepo.save(orderRepo.create({ note: "new", lines: [] }));
    orders.push(order.id);
    history.record({
      worker: "setup",
      entity: `order:${order.id}`,
      op: { type: "insert" },
      versionRead: null,
      versionWritten: order.version,
      stateRead: null,
      stateWritten: orderState(order),
      outcome: "acknowledged",
    });
  }
  const [hotCounter, ...spread] = counters;
  return { hotCounter, counters: spread, orders };
}

/** The database's final state, keyed like the history's entities. */
export async function readFinalStates(dataSource: DataSource, flavor: Flavor): Promise<Map<string, FinalState>> {
  const states = new Map<string, FinalState>();
  for (const counter of await dataSource.getRepository(flavor.Counter as EntityTarget<CounterRow>).find()) {
    states.set(`counter:${counter.id}`, { version: counter.version, state: counter.value });
  }
  const orders = await dataSource.getRepository(flavor.Order as EntityTarget<OrderRow>).find({ relations: { lines: true } });
  for (const order of orders) states.set(`order:${order.id}`, { version: order.version, state: orderState(order) });
  return states;
}
