import type { Apply } from "../checker";

/** What the checker sees of a counter: its value. */
export type CounterState = number;

/** What the checker sees of an order aggregate: its own column and its lines by label. */
export interface OrderState {
  note: string;
  lines: Record<string, number>;
}

export interface CounterRow {
  id: number;
  value: number;
  version: number;
}

export interface LineRow {
  id?: number;
  /** Unique when set: the key insertOnce finds a line by. */
  ref?: string | null;
  label: string;
  quantity: number;
}

export interface OrderRow {
  id: number;
  note: string;
  version: number;
  lines: LineRow[];
}

export function orderState(order: OrderRow): OrderState {
  const lines: Record<string, number> = {};
  for (const line of order.lines) lines[line.label] = line.quantity;
  return { note: order.note, lines };
}

/** Replays the workload's operations, per entity kind. */
export const replay: Record<string, Apply> = {
  counter(state, op) {
    if (op.type !== "increment") throw new Error(`unknown counter op ${op.type}`);
    return (state as CounterState) + ((op.by as number | undefined) ?? 1);
  },
  order(state, op) {
    const order = state as OrderState;
    const lines = { ...order.lines };
    switch (op.type) {
      case "add-line":
      case "change-line":
        lines[op.label as string] = op.quantity as number;
        return { note: order.note, lines };
      case "increment-line":
        lines[op.label as string] = (lines[op.label as string] ?? 0) + (op.by as number);
        return { note: order.note, lines };
      case "remove-line":
        delete lines[op.label as string];
        return { note: order.note, lines };
      case "note":
        return { note: op.note as string, lines };
      default:
        throw new Error(`unknown order op ${op.type}`);
    }
  },
};
