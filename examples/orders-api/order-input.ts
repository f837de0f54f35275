import { ORDER_STATUSES, type OrderStatus } from "./order.entity";
import { ValidationError, type FieldProblem } from "./validation-error";

export interface LineInput {
  /** Present to keep (and change) an existing line in a PUT; absent for a new line. */
  id?: number;
  sku: string;
  quantity: number;
  unitPriceCents: number;
}

export interface OrderInput {
  customer: string;
  status: OrderStatus;
  lines: LineInput[];
}

export interface OrderPatch {
  customer?: string;
  status?: OrderStatus;
  lines?: {
    add?: LineInput[];
    change?: { id: number; quantity?: number; unitPriceCents?: number }[];
    remove?: number[];
  };
}

const MAX_LINES = 100;
const SKU = /^[A-Z0-9][A-Z0-9-]{0,39}$/;

/** Reads fields off an untrusted JSON value, collecting every problem instead of stopping at the first. */
class Reader {
  readonly problems: FieldProblem[] = [];

  fail(field: string, message: string): undefined {
    this.problems.push({ field, message });
    return undefined;
  }

  object(value: unknown, field: string, allowed: readonly string[]): Record<string, unknown> | undefined {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return this.fail(field || "body", "must be a JSON object");
    for (const key of Object.keys(value)) if (!allowed.includes(key)) this.fail(join(field, key), "is not a known field");
    return value as Record<string, unknown>;
  }

  string(value: unknown, field: string, max: number): string | undefined {
    if (typeof value !== "string" || value.trim() === "" || value.length > max) {
      return this.fail(field, `must be a non-empty string of at most ${max} characters`);
    }
    return value.trim();
  }

  integer(value: unknown, field: string, min: number, max: number): number | undefined {
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
      return this.fail(field, `must be a whole number from ${min} to ${max}`);
    }
    return value;
  }

  status(value: unknown, field: string): OrderStatus | undefined {
    if (!ORDER_STATUSES.includes(value as OrderStatus)) return this.fail(field, `must be one of ${ORDER_STATUSES.join(", ")}`);
    return value as OrderStatus;
  }

  array(value: unknown, field: string): unknown[] | undefined {
    if (!Array.isArray(value)) return this.fail(field, "must be an array");
    if (value.length > MAX_LINES) return this.fail(field, `must have at most ${MAX_LINES} entries`);
    return value;
  }

  line(value: unknown, field: string, withId: boolean): LineInput | undefined {
    const raw = this.object(value, field, withId ? ["id", "sku", "quantity", "unitPriceCents"] : ["sku", "quantity", "unitPriceCents"]);
    if (!raw) return undefined;
    const sku =
      typeof raw.sku === "string" && SKU.test(raw.sku) ? raw.sku : this.fail(join(field, "sku"), "must be 1-40 of A-Z, 0-9 and -");
    const quantity = this.integer(raw.quantity, join(field, "quantity"), 1, 10_000);
    const unitPriceCents = this.integer(raw.unitPriceCents, join(field, "unitPriceCents"), 0, 100_000_000);
    const id = raw.id === undefined ? undefined : this.integer(raw.id, join(field, "id"), 1, 2_147_483_647);
    if (sku === undefined || quantity === undefined || unitPriceCents === undefined) return undefined;
    return id === undefined ? { sku, quantity, unitPriceCents } : { id, sku, quantity, unitPriceCents };
  }

  done<T>(value: T): T {
    if (this.problems.length > 0) throw new ValidationError(this.problems);
    return value;
  }
}

function join(parent: string, key: string | number): string {
  if (typeof key === "number") return `${parent}[${key}]`;
  return parent ? `${parent}.${key}` : key;
}

/**
 * Validates a whole order (POST creates one, PUT replaces one): `customer`, `status` (defaults to
 * "open" on POST) and `lines`. In a PUT, a line with an `id` keeps that existing line.
 *
 * @example
 * const input = parseOrderInput(req.body, { allowLineIds: false }); // throws ValidationError
 */
export function parseOrderInput(body: unknown, options: { allowLineIds: boolean; requireStatus: boolean }): OrderInput {
  const r = new Reader();
  const raw = r.object(body, "", ["customer", "status", "lines"]) ?? {};
  const customer = r.string(raw.customer, "customer", 100);
  const status = raw.status === undefined && !options.requireStatus ? "open" : r.status(raw.status, "status");
  const lines = (r.array(raw.lines, "lines") ?? []).map((line, i) => r.line(line, join("lines", i), options.allowLineIds));
  const ids = lines.flatMap((line) => (line?.id === undefined ? [] : [line.id]));
  if (new Set(ids).size !== ids.length) r.fail("lines", "names a line id twice");
  return r.done({ customer: customer!, status: status!, lines: lines as LineInput[] });
}

/**
 * Validates a partial change: any of `customer`, `status`, and `lines.add` / `lines.change` (by
 * line id: `quantity`, `unitPriceCents`) / `lines.remove` (line ids). At least one change.
 *
 * @example
 * parsePatch({ lines: { change: [{ id: 4, quantity: 3 }] } });
 */
export function parsePatch(body: unknown): OrderPatch {
  const r = new Reader();
  const raw = r.object(body, "", ["customer", "status", "lines"]) ?? {};
  const patch: OrderPatch = {};
  if (raw.customer !== undefined) patch.customer = r.string(raw.customer, "customer", 100);
  if (raw.status !== undefined) patch.status = r.status(raw.status, "status");
  if (raw.lines !== undefined) {
    const lines = r.object(raw.lines, "lines", ["add", "change", "remove"]);
    if (lines) {
      patch.lines = {};
      if (lines.add !== undefined) {
        patch.lines.add = (r.array(lines.add, "lines.add") ?? []).map((line, i) => r.line(line, join("lines.add", i), false)!);
      }
      if (lines.change !== undefined) {
        patch.lines.change = (r.array(lines.change, "lines.change") ?? []).map((value, i) => {
          const field = join("lines.change", i);
          const change = r.object(value, field, ["id", "quantity", "unitPriceCents"]) ?? {};
          const id = r.integer(change.id, join(field, "id"), 1, 2_147_483_647)!;
          const quantity = change.quantity === undefined ? undefined : r.integer(change.quantity, join(field, "quantity"), 1, 10_000);
          const unitPriceCents =
            change.unitPriceCents === undefined
              ? undefined
              : r.integer(change.unitPriceCents, join(field, "unitPriceCents"), 0, 100_000_000);
          if (change.quantity === undefined && change.unitPriceCents === undefined) r.fail(field, "changes nothing");
          return { id, quantity, unitPriceCents };
        });
      }
      if (lines.remove !== undefined) {
        patch.lines.remove = (r.array(lines.remove, "lines.remove") ?? []).map((id, i) =>
          r.integer(id, join("lines.remove", i), 1, 2_147_483_647)!,
        );
      }
    }
  }
  const empty =
    patch.customer === undefined &&
    patch.status === undefined &&
    !patch.lines?.add?.length &&
    !patch.lines?.change?.length &&
    !patch.lines?.remove?.length;
  if (empty && r.problems.length === 0) r.fail("body", "changes nothing");
  return r.done(patch);
}
