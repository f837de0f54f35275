import { Order, OrderLine, aggregateEntities } from "../../support/entities/aggregate";
import type { Step } from "../../support/clients/client";

/**
 * Writers that each run their save inside their own transaction, catch a StaleDataError and commit
 * anyway. Everything is loaded outside the transaction, as an application holding objects would.
 */
export const entities = aggregateEntities;

async function catchingStale(work: () => Promise<unknown>): Promise<string> {
  try {
    await work();
    return "saved";
  } catch (error) {
    if ((error as Error).name !== "StaleDataError") throw error;
    return "caught"; // and the transaction commits
  }
}

export const steps: Record<string, Step> = {
  /** Adds one to line `index` of the order: writers of different lines conflict through the root. */
  async bumpLine({ dataSource }, input) {
    const { orderId, index } = input as { orderId: number; index: number };
    const order = await dataSource
      .getRepository(Order)
      .findOneOrFail({ where: { id: orderId }, relations: { lines: true }, order: { lines: { id: "ASC" } } });
    order.lines[index].quantity += 1;
    return dataSource.transaction((manager) => catchingStale(() => manager.save(order)));
  },

  /** Adds one to a line of each of two orders in one save; the second order's line is read first. */
  async bumpPair({ dataSource }, input) {
    const { lineIds } = input as { lineIds: [number, number] };
    const lines = dataSource.getRepository(OrderLine);
    const load = (id: number) => lines.findOneOrFail({ where: { id }, relations: { order: true } });
    const second = await load(lineIds[1]);
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
    const first = await load(lineIds[0]);
    first.quantity += 1;
    second.quantity += 1;
    return dataSource.transaction((manager) => catchingStale(() => manager.save(OrderLine, [first, second])));
  },
};
