import type { EntityManager } from "typeorm";
import { OccOrder, OccOrderLine, PlainOrder, PlainOrderLine } from "../entities";

/** The two aggregate models side by side: identical tables, plain TypeORM vs typeorm-occ root. */
export const orderModels = [
  { name: "plain TypeORM", order: PlainOrder, line: PlainOrderLine },
  { name: "typeorm-occ", order: OccOrder, line: OccOrderLine },
] as const;

export type OrderModel = (typeof orderModels)[number];
export type AnyOrder = PlainOrder | OccOrder;

/** Inserts a root with `lines` lines and returns it loaded back with its lines, as an app would. */
export async function createLoadedOrder(manager: EntityManager, model: OrderModel, lines: number): Promise<AnyOrder> {
  const order = manager.create(model.order as typeof PlainOrder, {
    customer: `c-${lines}`,
    lines: Array.from({ length: lines }, (_, index) => ({ sku: `sku-${index}`, quantity: 1 })),
  });
  const saved = await manager.save(model.order, order);
  return manager.findOneOrFail(model.order as typeof PlainOrder, { where: { id: saved.id }, relations: { lines: true } });
}
