import { Order, aggregateEntities } from "../../support/entities/aggregate";
import type { Step } from "../../support/clients/client";

/** A writer that saves an Order aggregate with { transaction: false }. */
export const entities = aggregateEntities;

export const steps: Record<string, Step> = {
  async load({ dataSource, state }, input) {
    const { orderId } = input as { orderId: number };
    state.order = await dataSource
      .getRepository(Order)
      .findOneOrFail({ where: { id: orderId }, relations: { lines: true }, order: { lines: { id: "ASC" } } });
    return null;
  },
  async changeLine({ dataSource, state }, input) {
    const { index } = input as { index: number };
    const order = state.order as Order;
    order.lines[index].quantity += 1;
    await dataSource.getRepository(Order).save(order, { transaction: false });
    return order.version;
  },
};
