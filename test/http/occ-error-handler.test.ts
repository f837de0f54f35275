import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import express from "express";
import { parseVersion } from "typeorm-occ";
import { etagFor, occErrorHandler, parseIfMatch } from "typeorm-occ/http";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";
import { Doc } from "../support/entities/core";

describe.each(enabledDrivers())("occErrorHandler in a real Express app (%s)", (driver) => {
  let db: TestDatabase;
  let server: Server;
  let base: string;
  const passedOn: unknown[] = [];

  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: [Doc] });
    const docs = db.dataSource.getRepository(Doc);
    const app = express();
    app.use(express.json());
    app.get("/docs/:id", async (req, res) => {
      const doc = await docs.findOneByOrFail({ id: Number(req.params.id) });
      res.setHeader("ETag", etagFor(doc)).json(doc);
    });
    // The version comes from If-Match.
    app.put("/docs/:id", async (req, res) => {
      const doc = await docs.findOneByOrFail({ id: Number(req.params.id) });
      doc.version = parseIfMatch(req.headers["if-match"]);
      doc.title = String(req.body.title);
      await docs.save(doc);
      res.setHeader("ETag", etagFor(doc)).json(doc);
    });
    // The version comes from the body: a conflict is 409, not 412.
    app.post("/docs/:id/title", async (req, res) => {
      const doc = await docs.findOneByOrFail({ id: Number(req.params.id) });
      doc.version = parseVersion(req.body.version);
      doc.title = String(req.body.title);
      await docs.save(doc);
      res.json(doc);
    });
    app.get("/boom", () => {
      throw new Error("not ours");
    });
    app.use(occErrorHandler());
    app.use((error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      passedOn.push(error);
      res.status(599).json({ passedOn: true });
    });
    server = await new Promise<Server>((resolve) => {
      const listening = app.listen(0, "127.0.0.1", () => resolve(listening));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await db?.close();
  });

  async function newDoc(): Promise<Doc> {
    return db.dataSource.getRepository(Doc).save(db.dataSource.getRepository(Doc).create({ title: "first" }));
  }
  const put = (id: number, title: string, ifMatch?: string) =>
    fetch(`${base}/docs/${id}`, {
      method: "PUT",
      headers: { "content-type": "application/json", ...(ifMatch === undefined ? {} : { "if-match": ifMatch }) },
      body: JSON.stringify({ title }),
    });

  it("answers a stale If-Match with 412 problem details and keeps the winner's write", async () => {
    const doc = await newDoc();
    const etag = (await fetch(`${base}/docs/${doc.id}`)).headers.get("etag")!;
    expect(etag).toBe('"1"');
    const first = await put(doc.id, "winner", etag);
    expect(first.status).toBe(200);
    expect(first.headers.get("etag")).toBe('"2"');

    const second = await put(doc.id, "loser", etag);
    expect(second.status).toBe(412);
    expect(second.headers.get("content-type")).toBe("application/problem+json");
    expect(await second.json()).toEqual({
      type: "about:blank",
      title: "Precondition Failed",
      status: 412,
      code: "stale-data",
      detail: `Doc#${doc.id} is stale: expected version 1, found 2 (update)`,
      entity: "Doc",
      primaryKey: { id: doc.id },
      expectedVersion: 1,
      actualVersion: 2,
      operation: "update",
    });
    expect(await db.dataSource.getRepository(Doc).findOneByOrFail({ id: doc.id })).toMatchObject({ title: "winner", version: 2 });
  });

  it("answers a stale body version with 409", async () => {
    const doc = await newDoc();
    await put(doc.id, "moved on", '"1"');
    const res = await fetch(`${base}/docs/${doc.id}/title`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ title: "late", version: 1 }),
    });
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ title: "Conflict", code: "stale-data", expectedVersion: 1, actualVersion: 2 });
  });

  it("answers a missing If-Match with 428 and a malformed one with 400, writing nothing", async () => {
    const doc = await newDoc();
    const missing = await put(doc.id, "x");
    expect(missing.status).toBe(428);
    expect(await missing.json()).toMatchObject({ status: 428, title: "Precondition Required", code: "precondition-required" });
    for (const header of ["*", 'W/"1"', '"1", "2"', "1 OR 1=1"]) {
      const malformed = await put(doc.id, "x", header);
      expect(malformed.status).toBe(400);
      expect(malformed.headers.get("content-type")).toBe("application/problem+json");
      expect(await malformed.json()).toMatchObject({ status: 400, code: "invalid-if-match" });
    }
    expect(await db.dataSource.getRepository(Doc).findOneByOrFail({ id: doc.id })).toMatchObject({ title: "first", version: 1 });
  });

  it("answers an invalid body version with 400", async () => {
    const doc = await newDoc();
    const res = await fetch(`${base}/docs/${doc.id}/title`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ title: "x", version: "1; DROP TABLE doc" }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: "invalid-version" });
  });

  it("passes every other error on with next(error)", async () => {
    passedOn.length = 0;
    const res = await fetch(`${base}/boom`);
    expect(res.status).toBe(599);
    expect(passedOn).toHaveLength(1);
    expect((passedOn[0] as Error).message).toBe("not ours");
  });
});
