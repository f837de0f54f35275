import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import express from "express";
import { Column, Entity, PrimaryGeneratedColumn } from "typeorm";
import { VersionColumn } from "typeorm-occ";
import { etagFor, occErrorHandler, parseIfMatch, primaryReadsForWrites } from "typeorm-occ/http";
import { createReplicatedDatabase, describeWithReplicas, type ReplicatedDatabase } from "../support/replicas";

@Entity()
class HttpNote {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") text!: string;
  @VersionColumn() version!: number;
}

/**
 * A real Express app on a replicated DataSource (the replica 1 s behind) reading through the global
 * repository, the way the examples do: with primaryReadsForWrites(), a PUT right after the POST
 * that created the row finds it; GET requests still read a replica.
 */
describeWithReplicas("primaryReadsForWrites() in an Express app", () => {
  let db: ReplicatedDatabase;
  let server: Server;
  let base: string;
  beforeAll(async () => {
    db = await createReplicatedDatabase([HttpNote]);
    const notes = db.dataSource.getRepository(HttpNote);
    const app = express();
    app.use(express.json());
    app.use(primaryReadsForWrites());
    const readFrom = async () =>
      db.dataSource.createQueryBuilder().select("pg_is_in_recovery()", "replica").from("pg_database", "d").limit(1).getRawOne();
    app.get("/read-from", async (_request, response) => void response.json(await readFrom()));
    app.delete("/read-from", async (_request, response) => void response.json(await readFrom()));
    app.post("/notes", async (request, response) => {
      const note = await notes.save(notes.create({ text: String(request.body.text) }));
      response.status(201).setHeader("ETag", etagFor(note)).json(note);
    });
    app.put("/notes/:id", async (request, response) => {
      const note = await notes.findOneBy({ id: Number(request.params.id) });
      if (!note) return void response.status(404).end();
      note.version = parseIfMatch(request.header("if-match"));
      note.text = String(request.body.text);
      await notes.save(note);
      response.setHeader("ETag", etagFor(note)).json(note);
    });
    app.use(occErrorHandler());
    await new Promise<void>((resolve) => (server = app.listen(0, "127.0.0.1", () => resolve())));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await db?.close();
  });

  const send = (method: string, path: string, body?: unknown, ifMatch?: string) =>
    fetch(`${base}${path}`, {
      method,
      headers: { "content-type": "application/json", ...(ifMatch ? { "if-match": ifMatch } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it("requests that change state read from the primary, GET requests from a replica", async () => {
    expect(await (await send("DELETE", "/read-from")).json()).toEqual({ replica: false });
    expect(await (await send("GET", "/read-from")).json()).toEqual({ replica: true });
  });

  it("a PUT with If-Match right after the POST that created the row finds it and saves; a stale one gets 412", async () => {
    for (let round = 0; round < 5; round++) {
      const created = await send("POST", "/notes", { text: "first" });
      const { id } = (await created.json()) as HttpNote;
      const updated = await send("PUT", `/notes/${id}`, { text: "second" }, '"1"');
      expect(updated.status).toBe(200);
      expect(updated.headers.get("etag")).toBe('"2"');
      expect((await send("PUT", `/notes/${id}`, { text: "third" }, '"1"')).status).toBe(412);
    }
  });
});
