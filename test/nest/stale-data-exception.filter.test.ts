import { execFile, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { promisify } from "node:util";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";
import { NestDoc } from "./support/nest-doc.entity";

// Nest 12 is ES modules only, which Jest's CommonJS runtime cannot load: the app runs compiled,
// in its own Node process (test/nest/support/nest-app.ts), and is driven over real HTTP.
beforeAll(async () => {
  await promisify(execFile)("npx", ["tsc", "-p", "tsconfig.json"], { cwd: process.cwd() });
}, 180_000);

describe.each(enabledDrivers().filter((driver) => driver !== "mariadb"))("StaleDataExceptionFilter in a real Nest app (%s)", (driver) => {
  let db: TestDatabase;
  let child: ChildProcess;
  let base: string;

  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: [NestDoc] });
    const options = db.dataSource.options as { type: string; url?: string; database?: string };
    child = spawn(process.execPath, ["dist/test/nest/support/nest-app.js"], {
      cwd: process.cwd(),
      env: { ...process.env, NEST_DB_TYPE: options.type, NEST_DB: options.url ?? String(options.database) },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const [line] = (await once(child.stdout!, "data")) as [Buffer];
    base = `http://127.0.0.1:${(JSON.parse(line.toString()) as { port: number }).port}`;
  }, 60_000);
  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill("SIGTERM");
      await once(child, "exit");
    }
    await db?.close();
  });

  const send = (method: string, path: string, body: unknown, ifMatch?: string) =>
    fetch(`${base}${path}`, {
      method,
      headers: { "content-type": "application/json", ...(ifMatch === undefined ? {} : { "if-match": ifMatch }) },
      body: JSON.stringify(body),
    });

  it("answers a stale If-Match with 412 problem details and keeps the first write", async () => {
    const created = (await (await send("POST", "/docs", { title: "first" })).json()) as NestDoc;
    expect(created.version).toBe(1);
    const ok = await send("PUT", `/docs/${created.id}`, { title: "winner" }, '"1"');
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ etag: '"2"' });

    const stale = await send("PUT", `/docs/${created.id}`, { title: "loser" }, '"1"');
    expect(stale.status).toBe(412);
    expect(stale.headers.get("content-type")).toBe("application/problem+json");
    expect(await stale.json()).toEqual({
      type: "about:blank",
      title: "Precondition Failed",
      status: 412,
      detail: `NestDoc#${created.id} is stale: expected version 1, found 2 (update)`,
      code: "stale-data",
      entity: "NestDoc",
      primaryKey: { id: created.id },
      expectedVersion: 1,
      actualVersion: 2,
      operation: "update",
    });
    expect(await db.dataSource.getRepository(NestDoc).findOneByOrFail({ id: created.id })).toMatchObject({ title: "winner", version: 2 });
  });

  it("answers 409 when the stale version came from the body", async () => {
    const created = (await (await send("POST", "/docs", { title: "first" })).json()) as NestDoc;
    await send("PUT", `/docs/${created.id}`, { title: "winner" }, '"1"');
    const stale = await send("PUT", `/docs/${created.id}`, { title: "loser", version: 1 });
    expect(stale.status).toBe(409);
    expect(await stale.json()).toMatchObject({ title: "Conflict", status: 409, code: "stale-data", expectedVersion: 1, actualVersion: 2 });
  });
});
