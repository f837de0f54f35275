/**
 * No order has this id (or the id is not even a number): answered with 404.
 *
 * @example
 * throw new OrderNotFoundError(req.params.id);
 */
export class OrderNotFoundError extends Error {
  constructor(readonly orderId: string) {
    super(`order ${JSON.stringify(orderId.length > 20 ? `${orderId.slice(0, 20)}…` : orderId)} does not exist`);
    this.name = "OrderNotFoundError";
  }
}
