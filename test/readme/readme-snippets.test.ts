import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ts from "typescript";
import type { DataSource, Repository } from "typeorm";

/**
 * Runs the TypeScript snippets of README.md as written (compiled like the project, with decorator
 * metadata), each with the variables the text around it introduces, and checks what they print.
 */
const readme = readFileSync(join(__dirname, "../../README.md"), "utf8");
const snippets = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]);

const modules: Record<string, () => unknown> = {
  "typeorm-occ": () => require("../../src/index"),
  "typeorm-occ/http": () => require("../../src/http/index"),
};
const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (...args: string[]) => (
  ...args: unknown[]
) => Promise<unknown>;

interface Run {
  logs: unknown[][];
  result: any;
}

/** Compiles one snippet and runs it with `scope` as its free variables; `expose` is evaluated at its end. */
async function runSnippet(index: number, scope: Record<string, unknown> = {}, expose = "undefined"): Promise<Run> {
  const logs: unknown[][] = [];
  const { outputText } = ts.transpileModule(`${snippets[index]}\n;__expose(${expose});`, {
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      esModuleInterop: true,
    },
  });
  let result: unknown;
  const requireShim = (name: string) => (modules[name] ? modules[name]() : require(name));
  const console = { log: (...args: unknown[]) => logs.push(args) };
  const names = Object.keys(scope);
  const body = new AsyncFunction("require", "exports", "console", "__expose", ...names, outputText);
  await body(requireShim, {}, console, (value: unknown) => (result = value), ...names.map((name) => scope[name]));
  return { logs, result };
}

const snippetWith = (text: string) => {
  const index = snippets.findIndex((snippet) => snippet.includes(text));
  if (index < 0) throw new Error(`README has no ts snippet containing ${text}`);
  return index;
};

describe("README snippets", () => {
  const cwd = process.cwd();
  const dir = mkdtempSync(join(tmpdir(), "typeorm-occ-readme-"));
  const opened: DataSource[] = [];
  beforeAll(() => process.chdir(dir)); // the wallet snippet writes app.sqlite into the working directory
  afterAll(async () => {
    for (const dataSource of opened) if (dataSource.isInitialized) await dataSource.destroy();
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  });

  let wallet: { Wallet: Function; dataSource: DataSource; id: number };
  let aggregate: { Order: Function; OrderLine: Function; dataSource: DataSource; orders: Repository<any>; id: number };

  it("the drop-in import", async () => {
    await runSnippet(snippetWith('// was: import { VersionColumn } from "typeorm"'));
  });

  it("the wallet story: Bob's stale save fails, the reload-and-retry loses nothing", async () => {
    const run = await runSnippet(snippetWith("class Wallet"), {}, "{ Wallet, dataSource, id: created.id }");
    wallet = run.result;
    opened.push(wallet.dataSource);
    expect(run.logs).toEqual([[2], ["Wallet#1 is stale: expected version 1, found 2 (update)"]]);
    const row = await wallet.dataSource.getRepository(wallet.Wallet).findOneByOrFail({ id: wallet.id });
    expect(row).toMatchObject({ balance: 120, version: 3 });
  });

  it("parseVersion", async () => {
    const run = await runSnippet(snippetWith("parseVersion("));
    expect(run.logs).toEqual([[3], [true], [true], [true], [true], [true], [true]]);
  });

  it("the Order aggregate: Bob's change of another line is refused for the root", async () => {
    const run = await runSnippet(snippetWith("@AggregateRoot()\n@Entity()\nclass Order"), {}, "{ Order, OrderLine, dataSource, orders, id }");
    aggregate = run.result;
    opened.push(aggregate.dataSource);
    expect(run.logs).toEqual([[true, "Order"]]);
    const final = await aggregate.orders.findOneOrFail({ where: { id: aggregate.id }, relations: { lines: true }, order: { lines: { id: "ASC" } } });
    expect(final.version).toBe(2);
    expect(final.lines.map((line: { quantity: number }) => line.quantity)).toEqual([2, 1]);
  });

  it("catching StaleDataError", async () => {
    const { orders, id } = aggregate;
    const order = await orders.findOneOrFail({ where: { id }, relations: { lines: true } });
    await orders.save({ ...(await orders.findOneByOrFail({ id })), customer: "someone else" });
    order.customer = "me";
    const run = await runSnippet(snippetWith("isStaleDataError(error)"), { orders, order });
    expect(run.logs).toEqual([[`Order#${id} is stale: expected version 2, found 3 (update)`]]);
  });

  it("an explicit @AggregateMember bumps its root", async () => {
    const run = await runSnippet(snippetWith("class Shipment"), { Order: aggregate.Order }, "Shipment");
    const { DataSource } = require("typeorm");
    const dataSource: DataSource = new DataSource({
      type: "better-sqlite3",
      database: ":memory:",
      entities: [aggregate.Order, aggregate.OrderLine, run.result],
      synchronize: true,
    });
    await dataSource.initialize();
    opened.push(dataSource);
    const order = await dataSource.getRepository(aggregate.Order).save({ customer: "ada", lines: [] });
    await dataSource.getRepository(run.result).save({ order: { id: order.id } });
    expect((await dataSource.getRepository(aggregate.Order).findOneByOrFail({ id: order.id })).version).toBe(2);
  });

  it("EntitySchema entities marked with occSchema(): a stale cart is refused for another item's change", async () => {
    const run = await runSnippet(snippetWith("occSchema("), {}, "{ dataSource, carts, id }");
    opened.push(run.result.dataSource);
    expect(run.logs).toEqual([[2], ["cart#1 is stale: expected version 1, found 2 (update)"]]);
    const final = await run.result.carts.findOneOrFail({ where: { id: run.result.id }, relations: { items: true }, order: { items: { id: "ASC" } } });
    expect(final.version).toBe(2);
    expect(final.items.map((item: { quantity: number }) => item.quantity)).toEqual([2, 1]);
  });

  it("withOptimisticRetry", async () => {
    const { Wallet, dataSource, id } = wallet;
    await runSnippet(snippetWith("withOptimisticRetry(async (manager)"), { Wallet, dataSource, id });
    expect(await dataSource.getRepository(Wallet).findOneByOrFail({ id })).toMatchObject({ balance: 1120, version: 4 });
  });

  it("the HTTP helpers in an Express app", async () => {
    const { orders, id } = aggregate;
    const run = await runSnippet(snippetWith('from "typeorm-occ/http"'), { orders }, "app");
    const server = run.result.listen(0, "127.0.0.1");
    await new Promise((resolve) => server.once("listening", resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/orders/${id}`;
      const etag = (await fetch(base)).headers.get("etag")!;
      const patch = (ifMatch?: string) =>
        fetch(base, {
          method: "PATCH",
          headers: { "content-type": "application/json", ...(ifMatch ? { "if-match": ifMatch } : {}) },
          body: JSON.stringify({ customer: "via http" }),
        });
      expect((await patch()).status).toBe(428);
      expect((await patch('"abc"')).status).toBe(400);
      const ok = await patch(etag);
      expect(ok.status).toBe(200);
      expect(ok.headers.get("etag")).not.toBe(etag);
      const stale = await patch(etag);
      expect(stale.status).toBe(412);
      expect(stale.headers.get("content-type")).toContain("application/problem+json");
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("covers every TypeScript snippet (the NestJS one runs in test/nest/ as a real Nest app)", () => {
    const nest = snippetWith('from "typeorm-occ/nest"');
    expect(snippets[nest]).toContain("app.useGlobalFilters(new StaleDataExceptionFilter())");
    expect(snippets).toHaveLength(10);
  });
});
