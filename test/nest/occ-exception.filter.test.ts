import { execFile, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { promisify } from "node:util";
import { MissingVersionError, parseVersion } from "typeorm-occ";
import { PreconditionHeaderError, PreconditionRequiredError, occProblemFor } from "typeorm-occ/http";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { createReplicatedDatabase, describeWithReplicas, type ReplicatedDatabase } from "../support/replicas";
import { enabledDrivers } from "../support/drivers";
import { NestDoc } from "./support/nest-doc.entity";
import { REGISTRATIONS, TYPE_BASE } from "./support/registrations";

// Nest 12 is ES modules only, which Jest's CommonJS runtime cannot load: the apps run compiled,
// in their own Node process (test/nest/support/nest-app.ts), and are driven over real HTTP.
beforeAll(async () => {
  await promisify(execFile)("npx", ["tsc", "-p", "tsconfig.json"], { cwd: process.cwd() }).catch((error: { stdout?: string }) => {
    throw new Error(`tsc failed:\n${error.stdout}`);
  });
}, 180_000);

interface Started {
  child: ChildProcess;
  ports: Record<string, number>;
  /** Bootstrap errors by registration: the apps that did start are still tested. */
  failures: Record<string, string>;
}

async function startApps(db: TestDatabase | ReplicatedDatabase): Promise<Started> {
  const options = db.dataSource.options as { type: string; url?: string; database?: string };
  const env =
    "primaryUrl" in db ? { NEST_DB: db.primaryUrl, NEST_DB_REPLICA: db.replicaUrl } : { NEST_DB: options.url ?? String(options.database) };
  const child = spawn(process.execPath, ["dist/test/nest/support/nest-app.js"], {
    cwd: process.cwd(),
    env: { ...process.env, NEST_DB_TYPE: options.type, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const started = once(child.stdout!, "data").then(([line]) => JSON.parse(String(line)) as Omit<Started, "child">);
  const died = once(child, "exit").then(([code]) => Promise.reject(new Error(`the Nest app exited with ${code} before listening`)));
  return { child, ...(await Promise.race([started, died])) };
}

describe.each(enabledDrivers({ mariadb: true }))("OccExceptionFilter in real Nest apps (%s)", (driver) => {
  let db: TestDatabase;
  let child: ChildProcess | undefined;
  let ports: Record<string, number>;
  let failures: Record<string, string>;

  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: [NestDoc] });
    ({ child, ports, failures } = await startApps(db));
  }, 60_000);
  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill("SIGTERM");
      await once(child, "exit");
    }
    await db?.close();
  });

  describe.each(REGISTRATIONS)("registered through %s", (registration) => {
    beforeAll(() => {
      if (failures[registration]) throw new Error(`the app failed at bootstrap: ${failures[registration]}`);
    });

    const typeBase = registration === "OccModule.forRoot" ? TYPE_BASE : undefined;
    const send = (method: string, path: string, body?: unknown, ifMatch?: string) =>
      fetch(`http://127.0.0.1:${ports[registration]}${path}`, {
        method,
        headers: { "content-type": "application/json", ...(ifMatch === undefined ? {} : { "if-match": ifMatch }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const newDoc = async () => (await (await send("POST", "/docs", { title: "first" })).json()) as NestDoc;
    const stored = (id: number) => db.dataSource.getRepository(NestDoc).findOneByOrFail({ id });
    /** What occErrorHandler() from typeorm-occ/http answers for the same error. */
    const expressAnswer = (error: Error, hadIfMatch: boolean) => occProblemFor(error, { hadIfMatch, typeBase });

    it("answers a stale If-Match with 412 problem details and keeps the first write", async () => {
      const created = await newDoc();
      expect(created.version).toBe(1);
      const ok = await send("PUT", `/docs/${created.id}`, { title: "winner" }, '"1"');
      expect(ok.status).toBe(200);
      expect(await ok.json()).toMatchObject({ etag: '"2"' });

      const stale = await send("PUT", `/docs/${created.id}`, { title: "loser" }, '"1"');
      expect(stale.status).toBe(412);
      expect(stale.headers.get("content-type")).toBe("application/problem+json");
      expect(await stale.json()).toEqual({
        type: typeBase === undefined ? "about:blank" : `${typeBase}stale-data`,
        title: typeBase === undefined ? "Precondition Failed" : "The resource was changed by someone else",
        status: 412,
        detail: `NestDoc#${created.id} is stale: expected version 1, found 2 (update)`,
        code: "stale-data",
        entity: "NestDoc",
        primaryKey: { id: created.id },
        expectedVersion: 1,
        actualVersion: 2,
        operation: "update",
      });
      expect(await stored(created.id)).toMatchObject({ title: "winner", version: 2 });
    });

    it("answers 409 when the stale version came from the body", async () => {
      const created = await newDoc();
      await send("PUT", `/docs/${created.id}`, { title: "winner" }, '"1"');
      const stale = await send("POST", `/docs/${created.id}/title`, { title: "loser", version: 1 });
      expect(stale.status).toBe(409);
      expect(await stale.json()).toMatchObject({ status: 409, code: "stale-data", expectedVersion: 1, actualVersion: 2 });
      expect(await stored(created.id)).toMatchObject({ title: "winner", version: 2 });
    });

    it('answers a missing If-Match with 428 and W/"1" or * with 400, as the Express helper does, writing nothing', async () => {
      const created = await newDoc();
      const missing = await send("PUT", `/docs/${created.id}`, { title: "x" });
      expect(missing.status).toBe(428);
      expect(missing.headers.get("content-type")).toBe("application/problem+json");
      expect(await missing.json()).toEqual(expressAnswer(new PreconditionRequiredError(), false));

      for (const [header, reason] of [
        ['W/"1"', "weak ETags cannot guard a write"],
        ["*", "a wildcard does not name the version you read"],
      ]) {
        const malformed = await send("PUT", `/docs/${created.id}`, { title: "x" }, header);
        expect(malformed.status).toBe(400);
        expect(malformed.headers.get("content-type")).toBe("application/problem+json");
        expect(await malformed.json()).toEqual(expressAnswer(new PreconditionHeaderError(header, reason), true));
      }
      expect(await stored(created.id)).toMatchObject({ title: "first", version: 1 });
    });

    it("answers an invalid or missing body version with 400, writing nothing", async () => {
      const created = await newDoc();
      const invalid = await send("POST", `/docs/${created.id}/title`, { title: "x", version: "1; DROP TABLE nest_doc" });
      expect(invalid.status).toBe(400);
      expect(await invalid.json()).toEqual(
        expressAnswer(
          thrownBy(() => parseVersion("1; DROP TABLE nest_doc")),
          false,
        ),
      );

      const blind = await send("POST", `/docs/${created.id}/blind`, { title: "x" });
      expect(blind.status).toBe(400);
      const missing = await blind.json();
      expect(missing).toEqual(expressAnswer(new MissingVersionError("NestDoc", "version", { id: created.id }), false));
      expect(missing).toMatchObject({ code: "missing-version" });
      expect(await stored(created.id)).toMatchObject({ title: "first", version: 1 });
    });

    it("leaves programming errors to Nest (500) and keeps Nest's own HttpException answers", async () => {
      const programmingError = await send("GET", "/docs/programming-error");
      expect(programmingError.status).toBe(500);
      expect(programmingError.headers.get("content-type")).toContain("application/json");
      expect(await programmingError.json()).toEqual({ statusCode: 500, message: "Internal server error" });

      const notFound = await send("GET", "/docs/not-found");
      expect(notFound.status).toBe(404);
      expect(await notFound.json()).toEqual({ statusCode: 404, message: "no such doc", error: "Not Found" });
    });
  });
});

/**
 * On a replicated DataSource (the replica 1 s behind), OccModule.forRoot's interceptor makes a
 * request that changes state read from the primary: a PUT right after the POST that created the
 * row loads it (a replica would not have it yet), while GET requests still read a replica.
 */
describeWithReplicas("OccModule.forRoot on a replicated DataSource", () => {
  let db: ReplicatedDatabase;
  let child: ChildProcess | undefined;
  let ports: Record<string, number>;
  beforeAll(async () => {
    db = await createReplicatedDatabase([NestDoc]);
    ({ child, ports } = await startApps(db));
  }, 60_000);
  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill("SIGTERM");
      await once(child, "exit");
    }
    await db?.close();
  });
  const send = (registration: string, method: string, path: string, body?: unknown, ifMatch?: string) =>
    fetch(`http://127.0.0.1:${ports[registration]}${path}`, {
      method,
      headers: { "content-type": "application/json", ...(ifMatch === undefined ? {} : { "if-match": ifMatch }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it("requests that change state read from the primary, GET requests from a replica; other registrations leave TypeORM's routing", async () => {
    expect(await (await send("OccModule.forRoot", "POST", "/docs/read-from")).json()).toEqual({ replica: false });
    expect(await (await send("OccModule.forRoot", "GET", "/docs/read-from")).json()).toEqual({ replica: true });
    expect(await (await send("APP_FILTER", "POST", "/docs/read-from")).json()).toEqual({ replica: true });
  });

  it("a PUT with If-Match right after the POST that created the row loads it from the primary and saves", async () => {
    for (let round = 0; round < 5; round++) {
      const created = (await (await send("OccModule.forRoot", "POST", "/docs", { title: "first" })).json()) as NestDoc;
      const updated = await send("OccModule.forRoot", "PUT", `/docs/${created.id}`, { title: "second" }, '"1"');
      expect(updated.status).toBe(200);
      expect(await updated.json()).toMatchObject({ etag: '"2"' });
    }
  });
});

/** The error a call throws (the test fails if it throws none). */
function thrownBy(call: () => unknown): Error {
  try {
    call();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the call to throw");
}
