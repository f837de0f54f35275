import type { Order as OrderType } from "../../support/entities/aggregate";
import { Order, OrderLine, aggregateEntities } from "../../support/entities/aggregate";
import type { Step } from "../../support/clients/client";

/** Steps of two writers racing on one Order aggregate (run in-process or in a child process). */
export const entities = aggregateEntities;

const order = (state: Record<string, unknown>) => state.order as OrderType;

export const steps: Record<string, Step> = {
  async load({ dataSource, state }, input) {
    const { orderId } = input as { orderId: number };
    state.order = await dataSource
      .getRepository(Order)
      .findOneOrFail({ where: { id: orderId }, relations: { lines: true }, order: { lines: { id: "ASC" } } });
    return order(state).version;
  },

  /** Changes every line, in the given order of the lines (TypeORM updates them in that order). */
  async changeLines({ dataSource, state }, input) {
    const { reverse, quantity } = input as { reverse: boolean; quantity: number };
    const loaded = order(state);
    if (reverse) loaded.lines.reverse();
    for (const line of loaded.lines) line.quantity = quantity;
    await dataSource.getRepository(Order).save(loaded);
    return loaded.version;
  },

  async addLine({ dataSource, state }, input) {
    const { product } = input as { product: string };
    const loaded = order(state);
    loaded.lines.push(dataSource.getRepository(OrderLine).create({ product, quantity: 1, notes: [] }));
    await dataSource.getRepository(Order).save(loaded);
    return loaded.version;
  },

  async remove({ dataSource, state }) {
    await dataSource.getRepository(Order).remove(order(state));
    return null;
  },

  /** Inside the client's own transaction: save, catch a StaleDataError, commit anyway. */
  async changeLinesCatchingInTransaction({ dataSource, state }, input) {
    const { quantity } = input as { quantity: number };
    return dataSource.transaction(async (manager) => {
      const loaded = order(state);
      for (const line of loaded.lines) line.quantity = quantity;
      try {
        await manager.save(loaded);
        return "saved";
      } catch (error) {
        if ((error as Error).name !== "StaleDataError") throw error;
        return "caught";
      }
    });
  },
};
