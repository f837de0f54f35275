import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { lockAggregate } from "typeorm-occ";
import { createApp } from "../../examples/orders-api/app";
import { orderEntities } from "../../examples/orders-api/data-source";
import { OrderLine } from "../../examples/orders-api/order-line.entity";
import { Order } from "../../examples/orders-api/order.entity";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";

interface Call {
  method?: string;
  ifMatch?: string;
  body?: unknown;
  /** Sent as-is instead of JSON-encoding `body`. */
  raw?: string;
  contentType?: string;
}

interface Reply {
  status: number;
  etag: string | null;
  contentType: string | null;
  json: Record<string, any>;
}

describe.each(enabledDrivers({ mariadb: true }))("orders API over HTTP on %s", (driver) => {
  let db: TestDatabase;
  let server: Server;
  let base: string;

  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: orderEntities });
    server = await new Promise<Server>((resolve) => {
      const listening = createApp(db.dataSource).listen(0, "127.0.0.1", () => resolve(listening));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await db?.close();
  });

  async function call(path: string, { method = "GET", ifMatch, body, raw, contentType = "application/json" }: Call = {}): Promise<Reply> {
    const headers: Record<string, string> = {};
    if (ifMatch !== undefined) headers["if-match"] = ifMatch;
    const payload = raw ?? (body === undefined ? undefined : JSON.stringify(body));
    if (payload !== undefined) headers["content-type"] = contentType;
    const res = await fetch(`${base}${path}`, { method, headers, body: payload });
    const text = await res.text();
    return {
      status: res.status,
      etag: res.headers.get("etag"),
      contentType: res.headers.get("content-type"),
      json: text ? JSON.parse(text) : {},
    };
  }

  async function createOrder(
    lines = [
      { sku: "PEN-1", quantity: 1, unitPriceCents: 150 },
      { sku: "INK-2", quantity: 2, unitPriceCents: 400 },
    ],
  ) {
    const created = await call("/orders", { method: "POST", body: { customer: "Ada", lines } });
    expect(created.status).toBe(201);
    return created;
  }

  /** A body that would be accepted, so only the header under test can be refused. */
  const validBody = (method: string) =>
    method === "PUT" ? { customer: "Mallory", status: "open", lines: [] } : method === "PATCH" ? { customer: "Mallory" } : undefined;

  const stored = (id: number) =>
    db.dataSource.getRepository(Order).findOneOrFail({ where: { id }, relations: { lines: true }, order: { lines: { id: "ASC" } } });

  const expectProblem = (reply: Reply, status: number) => {
    expect(reply.status).toBe(status);
    expect(reply.contentType).toBe("application/problem+json");
    expect(reply.json).toMatchObject({ status, type: expect.any(String), title: expect.any(String) });
  };

  it("creates an order and round-trips its ETag", async () => {
    const created = await createOrder();
    expect(created.etag).toBe('"1"');
    expect(created.json).toMatchObject({ customer: "Ada", status: "open", version: 1, lines: [{ sku: "PEN-1" }, { sku: "INK-2" }] });

    const read = await call(`/orders/${created.json.id}`);
    expect(read.status).toBe(200);
    expect(read.etag).toBe('"1"');
    expect(read.json).toEqual(created.json);

    const patched = await call(`/orders/${created.json.id}`, { method: "PATCH", ifMatch: read.etag!, body: { customer: "Ada Lovelace" } });
    expect(patched.status).toBe(200);
    expect(patched.etag).toBe('"2"');
    const reread = await call(`/orders/${created.json.id}`);
    expect(reread.etag).toBe('"2"');
    expect(reread.json).toEqual(patched.json);
    expect(reread.json.customer).toBe("Ada Lovelace");
  });

  it("moves the order's ETag when only a line changes (aggregate root)", async () => {
    const created = await createOrder();
    const [first] = created.json.lines;
    const patched = await call(`/orders/${created.json.id}`, {
      method: "PATCH",
      ifMatch: '"1"',
      body: { lines: { change: [{ id: first.id, quantity: 5 }] } },
    });
    expect(patched.status).toBe(200);
    expect(patched.etag).toBe('"2"');
    expect((await stored(created.json.id)).lines[0]).toMatchObject({ id: first.id, quantity: 5 });

    const stale = await call(`/orders/${created.json.id}`, { method: "PATCH", ifMatch: '"1"', body: { customer: "late" } });
    expectProblem(stale, 412);
    expect(stale.json).toMatchObject({ code: "stale-data", entity: "Order", expectedVersion: 1, actualVersion: 2 });
  });

  it("adds and removes lines with PATCH, and replaces the whole order with PUT", async () => {
    const created = await createOrder();
    const [pen, ink] = created.json.lines;
    const patched = await call(`/orders/${created.json.id}`, {
      method: "PATCH",
      ifMatch: '"1"',
      body: { lines: { add: [{ sku: "PAD-3", quantity: 1, unitPriceCents: 99 }], remove: [pen.id] } },
    });
    expect(patched.status).toBe(200);
    expect(patched.json.lines.map((line: { sku: string }) => line.sku)).toEqual(["INK-2", "PAD-3"]);

    const replaced = await call(`/orders/${created.json.id}`, {
      method: "PUT",
      ifMatch: patched.etag!,
      body: { customer: "Grace", status: "placed", lines: [{ id: ink.id, sku: "INK-2", quantity: 9, unitPriceCents: 400 }] },
    });
    expect(replaced.status).toBe(200);
    expect(Number(JSON.parse(replaced.etag!))).toBeGreaterThan(Number(JSON.parse(patched.etag!)));
    const order = await stored(created.json.id);
    expect(order).toMatchObject({ customer: "Grace", status: "placed", version: replaced.json.version });
    expect(order.lines).toEqual([expect.objectContaining({ id: ink.id, quantity: 9 })]);
    expect(await db.dataSource.getRepository(OrderLine).countBy({ order: { id: created.json.id } })).toBe(1);
  });

  it("deletes with the current ETag only", async () => {
    const created = await createOrder();
    expectProblem(await call(`/orders/${created.json.id}`, { method: "DELETE" }), 428);
    expectProblem(await call(`/orders/${created.json.id}`, { method: "DELETE", ifMatch: '"7"' }), 412);
    const deleted = await call(`/orders/${created.json.id}`, { method: "DELETE", ifMatch: '"1"' });
    expect(deleted.status).toBe(204);
    expectProblem(await call(`/orders/${created.json.id}`), 404);
    expect(await db.dataSource.getRepository(OrderLine).countBy({ order: { id: created.json.id } })).toBe(0);
  });

  it("answers 428 for writes without If-Match and writes nothing", async () => {
    const created = await createOrder();
    const id = created.json.id;
    for (const method of ["PATCH", "PUT"]) {
      const reply = await call(`/orders/${id}`, { method, body: validBody(method) });
      expectProblem(reply, 428);
      expect(reply.json.code).toBe("precondition-required");
    }
    expect(await stored(id)).toMatchObject({ customer: "Ada", version: 1 });
    expect((await stored(id)).lines).toHaveLength(2);
  });

  it.each([
    "*",
    'W/"1"',
    "1",
    '"1", "2"',
    '"01"',
    '"1" OR 1=1',
    `"1"; DROP TABLE orders; --`,
    `1' OR '1'='1`,
    '"1 OR version > 0"',
    `"${"9".repeat(400)}"`,
  ])("answers 400 for If-Match %j and writes nothing", async (ifMatch) => {
    const created = await createOrder();
    const id = created.json.id;
    for (const method of ["PATCH", "PUT", "DELETE"]) {
      expectProblem(await call(`/orders/${id}`, { method, ifMatch, body: validBody(method) }), 400);
    }
    expect(await stored(id)).toMatchObject({ customer: "Ada", version: 1 });
    expect((await stored(id)).lines).toHaveLength(2);
  });

  it.each(["999999", "abc", "0", "-1", "1.5", "99999999999", encodeURIComponent("1 OR 1=1"), encodeURIComponent("1; DROP TABLE orders")])(
    "answers 404 for order id %j",
    async (id) => {
      expectProblem(await call(`/orders/${id}`), 404);
      expectProblem(await call(`/orders/${id}`, { method: "PATCH", ifMatch: '"1"', body: { customer: "x" } }), 404);
      expectProblem(
        await call(`/orders/${id}`, { method: "PUT", ifMatch: '"1"', body: { customer: "x", status: "open", lines: [] } }),
        404,
      );
      expectProblem(await call(`/orders/${id}`, { method: "DELETE", ifMatch: '"1"' }), 404);
      expect(await db.dataSource.getRepository(Order).count()).toBeGreaterThan(0);
    },
  );

  it.each<[string, Call, number]>([
    ["malformed JSON", { raw: '{"customer": "x",' }, 400],
    ["a JSON string", { raw: '"customer"' }, 400],
    ["a form body", { raw: "customer=x", contentType: "application/x-www-form-urlencoded" }, 415],
    ["an array", { body: [] }, 422],
    ["an empty patch", { body: {} }, 422],
    ["an unknown field", { body: { customer: "x", isAdmin: true } }, 422],
    ["a prototype-polluting key", { raw: '{"__proto__": {"customer": "x"}}' }, 422],
    ["an empty customer", { body: { customer: "  " } }, 422],
    ["a very long customer", { body: { customer: "x".repeat(101) } }, 422],
    ["an unknown status", { body: { status: "shipped'; --" } }, 422],
    ["a quantity as a string", { body: { lines: { change: [{ id: 1, quantity: "2" }] } } }, 422],
    ["a negative quantity", { body: { lines: { add: [{ sku: "PEN-1", quantity: -1, unitPriceCents: 1 }] } } }, 422],
    ["a fractional price", { body: { lines: { add: [{ sku: "PEN-1", quantity: 1, unitPriceCents: 1.5 }] } } }, 422],
    ["a SQL sku", { body: { lines: { add: [{ sku: "X'); DELETE FROM order_lines; --", quantity: 1, unitPriceCents: 1 }] } } }, 422],
    ["a line of another order", { body: { lines: { change: [{ id: 2_000_000_000, quantity: 2 }] } } }, 422],
    [
      "too many lines",
      { body: { lines: { add: Array.from({ length: 101 }, () => ({ sku: "A", quantity: 1, unitPriceCents: 1 })) } } },
      422,
    ],
    ["a body over 64kb", { body: { customer: "x".repeat(70_000) } }, 413],
  ])("refuses %s in a PATCH without a 500 or a write", async (_label, request, status) => {
    const created = await createOrder();
    const reply = await call(`/orders/${created.json.id}`, { method: "PATCH", ifMatch: '"1"', ...request });
    expectProblem(reply, status);
    if (status === 422) expect(reply.json.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field: expect.any(String) })]));
    expect(await stored(created.json.id)).toMatchObject({ customer: "Ada", version: 1 });
    expect((await stored(created.json.id)).lines.map((line) => line.quantity)).toEqual([1, 2]);
  });

  it("refuses invalid POST and PUT bodies with 422", async () => {
    expectProblem(await call("/orders", { method: "POST", body: { customer: "x" } }), 422);
    expectProblem(
      await call("/orders", { method: "POST", body: { customer: "x", lines: [{ id: 1, sku: "A", quantity: 1, unitPriceCents: 1 }] } }),
      422,
    );
    const created = await createOrder();
    expectProblem(await call(`/orders/${created.json.id}`, { method: "PUT", ifMatch: '"1"', body: { customer: "x", lines: [] } }), 422);
    expect(await stored(created.json.id)).toMatchObject({ customer: "Ada", version: 1 });
  });

  it("stores SQL-looking text verbatim, as data", async () => {
    const customer = `Robert'); DROP TABLE orders; --`;
    const created = await call("/orders", { method: "POST", body: { customer, lines: [] } });
    expect(created.status).toBe(201);
    expect((await stored(created.json.id)).customer).toBe(customer);
    expect((await call(`/orders/${created.json.id}`)).json.customer).toBe(customer);
  });

  it("lets exactly one of two racing clients win; the loser's change is not in the order", async () => {
    const created = await createOrder();
    const id = created.json.id;
    const [pen, ink] = created.json.lines;
    const [alice, bob] = await Promise.all([call(`/orders/${id}`), call(`/orders/${id}`)]);
    expect(alice.etag).toBe(bob.etag);

    const replies = await Promise.all([
      call(`/orders/${id}`, { method: "PATCH", ifMatch: alice.etag!, body: { lines: { change: [{ id: pen.id, quantity: 10 }] } } }),
      call(`/orders/${id}`, { method: "PATCH", ifMatch: bob.etag!, body: { lines: { change: [{ id: ink.id, quantity: 20 }] } } }),
    ]);
    expect(replies.map((reply) => reply.status).sort()).toEqual([200, 412]);
    const winner = replies.find((reply) => reply.status === 200)!;
    const loser = replies.find((reply) => reply.status === 412)!;
    expect(loser.json).toMatchObject({ code: "stale-data", expectedVersion: 1 });

    const order = await stored(id);
    expect(order.version).toBe(2);
    expect(winner.etag).toBe('"2"');
    const quantities = order.lines.map((line) => line.quantity);
    expect([
      [10, 2],
      [1, 20],
    ]).toContainEqual(quantities);
    expect(winner.json.lines.map((line: { quantity: number }) => line.quantity)).toEqual(quantities);
  });

  it("lets exactly one of many racing writers win", async () => {
    const created = await createOrder();
    const id = created.json.id;
    const replies = await Promise.all(
      Array.from({ length: 8 }, (_, i) => call(`/orders/${id}`, { method: "PATCH", ifMatch: '"1"', body: { customer: `writer ${i}` } })),
    );
    const statuses = replies.map((reply) => reply.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    expect(statuses.filter((status) => status === 412)).toHaveLength(7);
    const winner = replies[statuses.indexOf(200)];
    expect(await stored(id)).toMatchObject({ customer: winner.json.customer, version: 2 });
  });

  describe("POST /orders/:id/checkout (lockAggregate)", () => {
    const checkout = (id: number, ifMatch?: string) => call(`/orders/${id}/checkout`, { method: "POST", ifMatch });

    it("places an open order once and moves its ETag; a second checkout is a 409", async () => {
      const created = await createOrder();
      const placed = await checkout(created.json.id);
      expect(placed.status).toBe(200);
      expect(placed.etag).toBe('"2"');
      expect(placed.json).toMatchObject({ status: "placed", version: 2, lines: [{ sku: "PEN-1" }, { sku: "INK-2" }] });
      expectProblem(await checkout(created.json.id), 409);
      expect(await stored(created.json.id)).toMatchObject({ status: "placed", version: 2 });
    });

    it("checks If-Match when given, and answers 404 / 409 for unknown and empty orders", async () => {
      const created = await createOrder();
      expectProblem(await checkout(created.json.id, '"7"'), 412);
      expectProblem(await checkout(created.json.id, "*"), 400);
      expect((await checkout(created.json.id, '"1"')).status).toBe(200);
      expectProblem(await checkout(999999), 404);
      expectProblem(await call("/orders/abc/checkout", { method: "POST" }), 404);
      const empty = await call("/orders", { method: "POST", body: { customer: "Ada", lines: [] } });
      expectProblem(await checkout(empty.json.id), 409);
      expect(await stored(empty.json.id)).toMatchObject({ status: "open", version: 1 });
    });

    it("lets exactly one of many concurrent checkouts place the order, and none fail on a version conflict", async () => {
      for (let round = 0; round < 3; round++) {
        const created = await createOrder();
        const id = created.json.id;
        const [pen] = created.json.lines;
        const [edit, ...checkouts] = await Promise.all([
          call(`/orders/${id}`, { method: "PATCH", ifMatch: '"1"', body: { lines: { change: [{ id: pen.id, quantity: 7 }] } } }),
          ...Array.from({ length: 6 }, () => checkout(id)),
        ]);
        const statuses = checkouts.map((reply) => reply.status);
        expect(statuses.filter((status) => status === 200)).toHaveLength(1);
        expect(statuses.filter((status) => status === 409)).toHaveLength(5);
        expect([200, 412]).toContain(edit.status);
        const order = await stored(id);
        expect(order.status).toBe("placed");
        // The edit either came first (and is in the placed order) or found the order moved on.
        expect(order.version).toBe(edit.status === 200 ? 3 : 2);
        expect(order.lines[0].quantity).toBe(edit.status === 200 ? 7 : 1);
      }
    });

    if (driver !== "sqlite") {
      // One process cannot hold SQLite's write lock on one connection while another waits for it.
      it("waits for another request's lock, and answers 503 with Retry-After when it waits too long", async () => {
        const created = await createOrder();
        const holder = await db.open();
        const busyServer = await new Promise<Server>((resolve) => {
          const listening = createApp(db.dataSource, { checkoutLockTimeoutMs: 300 }).listen(0, "127.0.0.1", () => resolve(listening));
        });
        try {
          const runner = holder.createQueryRunner();
          await runner.startTransaction();
          await lockAggregate(runner.manager, Order, created.json.id);
          const busy = await fetch(`http://127.0.0.1:${(busyServer.address() as AddressInfo).port}/orders/${created.json.id}/checkout`, {
            method: "POST",
          });
          expect(busy.status).toBe(503);
          expect(busy.headers.get("retry-after")).toBe("1");
          setTimeout(() => void runner.rollbackTransaction().then(() => runner.release()), 300);
          expect((await checkout(created.json.id)).status).toBe(200); // the default app waits up to 5 s
        } finally {
          await new Promise((resolve) => busyServer.close(resolve));
          await holder.destroy();
        }
      });
    }
  });
});
