import type { DataSource } from "typeorm";
import { StaleDataError, lockAggregate, updateVersioned } from "typeorm-occ";
import { OrderLine } from "./order-line.entity";
import type { LineInput, OrderInput, OrderPatch } from "./order-input";
import { OrderNotFoundError } from "./order-not-found-error";
import { OrderStateError } from "./order-state-error";
import { Order } from "./order.entity";

export interface OrderCommandsOptions {
  /** How long a checkout waits for another request working on the same order. Defaults to 5000. */
  checkoutLockTimeoutMs?: number;
}
import { ValidationError } from "./validation-error";

/**
 * The order use cases behind the HTTP routes. Every write follows one pattern: load the order,
 * check that it is still at the version the client read (its If-Match), apply the change, save.
 * The early check answers the common case quickly; the version condition typeorm-occ puts in the
 * UPDATE/DELETE closes the race between our load and our save.
 *
 * @example
 * const commands = new OrderCommands(dataSource);
 * const order = await commands.patch("7", 3, { customer: "Ada" });
 */
export class OrderCommands {
  constructor(
    private readonly dataSource: DataSource,
    private readonly options: OrderCommandsOptions = {},
  ) {}

  private get orders() {
    return this.dataSource.getRepository(Order);
  }

  async find(id: string): Promise<Order> {
    const order = await this.orders.findOne({ where: { id: orderIdOf(id) }, relations: { lines: true }, order: { lines: { id: "ASC" } } });
    if (!order) throw new OrderNotFoundError(id);
    return order;
  }

  async create(input: OrderInput): Promise<Order> {
    const order = this.orders.create({ customer: input.customer, status: input.status, lines: input.lines.map(newLine) });
    return this.orders.save(order);
  }

  async patch(id: string, expectedVersion: number, patch: OrderPatch): Promise<Order> {
    if (patch.lines === undefined && (patch.customer !== undefined || patch.status !== undefined))
      return this.patchOrderFields(id, expectedVersion, patch);
    const order = await this.loadAt(id, expectedVersion);
    if (patch.customer !== undefined) order.customer = patch.customer;
    if (patch.status !== undefined) order.status = patch.status;
    for (const [i, change] of (patch.lines?.change ?? []).entries()) {
      const line = lineOf(order, change.id, `lines.change[${i}].id`);
      if (change.quantity !== undefined) line.quantity = change.quantity;
      if (change.unitPriceCents !== undefined) line.unitPriceCents = change.unitPriceCents;
    }
    for (const [i, lineId] of (patch.lines?.remove ?? []).entries()) lineOf(order, lineId, `lines.remove[${i}]`);
    const removed = new Set(patch.lines?.remove ?? []);
    order.lines = [...order.lines.filter((line) => !removed.has(line.id)), ...(patch.lines?.add ?? []).map(newLine)];
    return this.orders.save(order);
  }

  /**
   * Only the order's own fields change: one version-checked UPDATE, nothing loaded before it (a
   * stale `If-Match` fails in the statement itself). The order is read afterwards for the reply.
   */
  private async patchOrderFields(id: string, expectedVersion: number, patch: OrderPatch): Promise<Order> {
    const changes: Partial<Pick<Order, "customer" | "status">> = {};
    if (patch.customer !== undefined) changes.customer = patch.customer;
    if (patch.status !== undefined) changes.status = patch.status;
    try {
      await updateVersioned(this.orders, { id: orderIdOf(id), version: expectedVersion }, changes);
    } catch (error) {
      if (error instanceof StaleDataError && error.actualVersion === null) throw new OrderNotFoundError(id);
      throw error;
    }
    return this.find(id);
  }

  async replace(id: string, expectedVersion: number, input: OrderInput): Promise<Order> {
    const order = await this.loadAt(id, expectedVersion);
    order.customer = input.customer;
    order.status = input.status;
    order.lines = input.lines.map((lineInput, i) => {
      if (lineInput.id === undefined) return newLine(lineInput);
      const line = lineOf(order, lineInput.id, `lines[${i}].id`);
      return Object.assign(line, { sku: lineInput.sku, quantity: lineInput.quantity, unitPriceCents: lineInput.unitPriceCents });
    });
    return this.orders.save(order);
  }

  /**
   * Places an open order. Many requests may try at once (double clicks, a retrying client, a
   * concurrent edit): the order is locked first, so they run one after another, each deciding on
   * the order as the previous one left it — exactly one places it, the others get
   * {@link OrderStateError} — and no request fails with a version conflict it could not avoid. An
   * `If-Match` version, when given, must still be current.
   */
  async checkout(id: string, expectedVersion: number | undefined): Promise<Order> {
    const numeric = orderIdOf(id);
    return this.dataSource.transaction(async (manager) => {
      const order = await lockAggregate(manager, Order, numeric, { timeoutMs: this.options.checkoutLockTimeoutMs ?? 5000 });
      if (!order) throw new OrderNotFoundError(id);
      if (expectedVersion !== undefined && order.version !== expectedVersion) throw staleOrder(order, expectedVersion, "update");
      if (order.status !== "open") throw new OrderStateError(order.id, `is ${order.status}: only open orders can be checked out`);
      if (order.lines.length === 0) throw new OrderStateError(order.id, "has no lines: there is nothing to check out");
      order.status = "placed";
      await manager.save(order); // the version moves by 1; nobody could change the order in between
      order.lines.sort((a, b) => a.id - b.id);
      return order;
    });
  }

  async remove(id: string, expectedVersion: number): Promise<void> {
    const order = await this.loadAt(id, expectedVersion, "delete");
    await this.orders.remove(order);
  }

  /** Loads the order and makes the client's version the one the save will check. */
  private async loadAt(id: string, expectedVersion: number, operation: "update" | "delete" = "update"): Promise<Order> {
    const order = await this.find(id);
    if (order.version !== expectedVersion) throw staleOrder(order, expectedVersion, operation);
    order.version = expectedVersion;
    return order;
  }
}

/** The `:id` of a route as an order id; anything that is not one is an order that does not exist. */
function orderIdOf(id: string): number {
  const numeric = /^[1-9][0-9]{0,9}$/.test(id) ? Number(id) : Number.NaN;
  if (!(numeric <= 2_147_483_647)) throw new OrderNotFoundError(id);
  return numeric;
}

function staleOrder(order: Order, expectedVersion: number, operation: "update" | "delete"): StaleDataError {
  return new StaleDataError({
    entityName: "Order",
    primaryKey: { id: order.id },
    expectedVersion,
    actualVersion: order.version,
    operation,
    entity: order,
  });
}

function newLine(input: LineInput): OrderLine {
  return Object.assign(new OrderLine(), { sku: input.sku, quantity: input.quantity, unitPriceCents: input.unitPriceCents });
}

function lineOf(order: Order, lineId: number, field: string): OrderLine {
  const line = order.lines.find((candidate) => candidate.id === lineId);
  if (!line) throw new ValidationError([{ field, message: `is not a line of order ${order.id}` }]);
  return line;
}
