import type { Order } from "./order.entity";

/** The order as the API shows it. */
export interface OrderJson {
  id: number;
  customer: string;
  status: string;
  version: number;
  lines: { id: number; sku: string; quantity: number; unitPriceCents: number }[];
}

/**
 * Turns a loaded order into its JSON representation (lines sorted by id; no back-references).
 *
 * @example
 * res.json(orderJson(order));
 */
export function orderJson(order: Order): OrderJson {
  return {
    id: order.id,
    customer: order.customer,
    status: order.status,
    version: order.version,
    lines: [...order.lines]
      .sort((a, b) => a.id - b.id)
      .map((line) => ({ id: line.id, sku: line.sku, quantity: line.quantity, unitPriceCents: line.unitPriceCents })),
  };
}
