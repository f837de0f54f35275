import express, { type NextFunction, type Request, type Response } from "express";
import type { DataSource } from "typeorm";
import { etagFor, occErrorHandler, parseIfMatch, primaryReadsForWrites, problemDetails, sendProblem } from "typeorm-occ/http";
import { appErrorHandler, lastResortHandler } from "./app-error-handler";
import { OrderCommands, type OrderCommandsOptions } from "./order-commands";
import { parseOrderInput, parsePatch } from "./order-input";
import { orderJson } from "./order-json";
import type { Order } from "./order.entity";

/**
 * The orders API as an Express 5 app (not listening yet):
 *
 * - `GET /orders/:id` → the order, with `ETag: "<version>"`
 * - `POST /orders` → 201, `Location` and `ETag`
 * - `PATCH /orders/:id`, `PUT /orders/:id`, `DELETE /orders/:id` need `If-Match` with that ETag:
 *   missing → 428, malformed → 400, stale → 412, unknown order → 404, invalid body → 422 (400 for
 *   unreadable JSON, 415 when not JSON); every error is `application/problem+json`. A `PATCH` of the
 *   order's own fields only is one version-checked UPDATE (`updateVersioned`), nothing loaded first.
 * - `POST /orders/:id/checkout` places an open order under a lock of the order (`lockAggregate`):
 *   concurrent checkouts run one after another, one wins, the rest get 409; `If-Match` optional.
 *
 * @example
 * const server = createApp(dataSource).listen(3000);
 */
export function createApp(dataSource: DataSource, options: OrderCommandsOptions = {}): express.Express {
  const commands = new OrderCommands(dataSource, options);
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false); // ETags come from the order's version, never from hashing the body
  // With read replicas, requests that change an order read it from the primary; GETs may read a replica.
  app.use(primaryReadsForWrites());

  const requireJson = (req: Request, res: Response, next: NextFunction) => {
    if (req.is("application/json")) return next();
    sendProblem(res, problemDetails({ status: 415, detail: "send the body as application/json" }));
  };
  const reply = (res: Response, order: Order, status = 200) => res.status(status).setHeader("ETag", etagFor(order)).json(orderJson(order));
  const body = express.json({ limit: "64kb", strict: true });

  app.get("/orders/:id", async (req, res) => {
    reply(res, await commands.find(orderId(req)));
  });

  app.post("/orders", requireJson, body, async (req, res) => {
    const order = await commands.create(parseOrderInput(req.body, { allowLineIds: false, requireStatus: false }));
    res.setHeader("Location", `/orders/${order.id}`);
    reply(res, order, 201);
  });

  app.patch("/orders/:id", requireJson, body, async (req, res) => {
    const expected = parseIfMatch(req.headers["if-match"]);
    reply(res, await commands.patch(orderId(req), expected, parsePatch(req.body)));
  });

  app.put("/orders/:id", requireJson, body, async (req, res) => {
    const expected = parseIfMatch(req.headers["if-match"]);
    reply(res, await commands.replace(orderId(req), expected, parseOrderInput(req.body, { allowLineIds: true, requireStatus: true })));
  });

  app.post("/orders/:id/checkout", async (req, res) => {
    const ifMatch = req.headers["if-match"];
    reply(res, await commands.checkout(orderId(req), ifMatch === undefined ? undefined : parseIfMatch(ifMatch)));
  });

  app.delete("/orders/:id", async (req, res) => {
    await commands.remove(orderId(req), parseIfMatch(req.headers["if-match"]));
    res.status(204).end();
  });

  app.use((req, res) => {
    sendProblem(res, problemDetails({ status: 404, detail: `no route for ${req.method} ${req.path.slice(0, 100)}` }));
  });
  app.use(appErrorHandler, occErrorHandler(), lastResortHandler);
  return app;
}

/** The `:id` route parameter as received (Express 5 types allow arrays for wildcard parameters). */
function orderId(req: Request): string {
  const id: unknown = req.params.id;
  return typeof id === "string" ? id : "";
}
