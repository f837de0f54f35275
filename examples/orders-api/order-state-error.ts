/**
 * The order is not in a state that allows the request (e.g. checking out an order that was already
 * placed): answered with 409.
 *
 * @example
 * throw new OrderStateError(order.id, `is ${order.status}, only open orders can be checked out`);
 */
export class OrderStateError extends Error {
  constructor(
    readonly orderId: number,
    problem: string,
  ) {
    super(`order ${orderId} ${problem}`);
    this.name = "OrderStateError";
  }
}
