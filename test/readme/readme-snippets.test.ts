import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ts from "typescript";
import type { DataSource, Repository } from "typeorm";
import { createReplicatedDatabase, replicasUnavailable } from "../support/replicas";

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

  it("uncheckedMemberWrite: a line loaded without its order is written last-writer-wins, and the order still moves", async () => {
    const { dataSource, OrderLine, orders, id } = aggregate;
    const lines = dataSource.getRepository(OrderLine);
    const lineId = (await orders.findOneOrFail({ where: { id }, relations: { lines: true } })).lines[0].id;
    const before = (await orders.findOneByOrFail({ id })).version;
    await runSnippet(snippetWith("uncheckedMemberWrite()"), { lines, id: lineId });
    expect((await lines.findOneByOrFail({ id: lineId })).quantity).toBe(3);
    expect((await orders.findOneByOrFail({ id })).version).toBe(before + 1);
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

  // The suite's replica lags by 1 s: the snippet's read right after its insert finds the row only on the primary.
  (replicasUnavailable() ? it.skip : it)("replicas: withOptimisticRetry and readFromPrimary read the primary through a global repository", async () => {
    const db = await createReplicatedDatabase([]);
    let replicated: DataSource | undefined;
    try {
      const run = await runSnippet(snippetWith("replication: { master: { url: PRIMARY_URL }"), { Wallet: wallet.Wallet, PRIMARY_URL: db.primaryUrl, REPLICA_URL: db.replicaUrl }, "replicated");
      replicated = run.result;
      expect(run.logs).toEqual([[150, 2]]);
    } finally {
      if (replicated?.isInitialized) await replicated.destroy();
      await db.close();
    }
  });

  describe("choosing a remedy", () => {
    it("1. updateIf: the withdrawal goes through, the one the balance cannot cover is refused", async () => {
      const { Wallet, dataSource, id } = wallet;
      const run = await runSnippet(snippetWith("updateIf(wallets, { id, balance: MoreThanOrEqual(100) }"), { Wallet, dataSource, id });
      expect(run.logs).toEqual([[true]]);
      expect(await dataSource.getRepository(Wallet).findOneByOrFail({ id })).toMatchObject({ balance: 1020, version: 5 });
    });

    it("2. updateVersioned: the first write against version 5 lands, the second one is stale", async () => {
      const { Wallet, dataSource, id } = wallet;
      const wallets = dataSource.getRepository(Wallet);
      expect(await wallets.findOneByOrFail({ id })).toMatchObject({ version: 5 });
      const run = await runSnippet(snippetWith("updateVersioned(wallets, { id, version: parseVersion(ifMatch) }"), { wallets, id });
      expect(run.logs).toEqual([[6], [5, 6]]);
      expect(await wallets.findOneByOrFail({ id })).toMatchObject({ balance: 1000, version: 6 });
      await wallets.update({ id }, { balance: 1020 }); // back to where the next snippets expect it (version 7)
    });

    it("3. lockAggregate: the line changes and the root's version moves once", async () => {
      const { Order, dataSource, orders, id } = aggregate;
      const before = await orders.findOneOrFail({ where: { id }, relations: { lines: true } });
      await runSnippet(snippetWith("lockAggregate(manager, Order, id"), { Order, dataSource, id });
      const after = await orders.findOneOrFail({ where: { id }, relations: { lines: true } });
      expect(after.version).toBe(before.version + 1);
      const total = (order: { lines: Array<{ quantity: number }> }) => order.lines.reduce((sum, line) => sum + line.quantity, 0);
      expect(total(after)).toBe(total(before) + 1);
    });

    it("4. withAdvisoryLock: two concurrent runs open one order", async () => {
      const { Order, dataSource } = aggregate;
      const index = snippetWith('withAdvisoryLock(dataSource, "open-order:grace"');
      const runs = await Promise.all([runSnippet(index, { Order, dataSource }), runSnippet(index, { Order, dataSource })]);
      expect(runs.map((run) => run.logs)).toEqual([[["grace"]], [["grace"]]]);
      expect(await dataSource.getRepository(Order).countBy({ customer: "grace" })).toBe(1);
    });

    it("5. serializable + retry: the rule holds", async () => {
      const { Order, dataSource } = aggregate;
      const index = snippetWith('isolationLevel: "SERIALIZABLE"');
      for (let i = 0; i < 4; i++) await runSnippet(index, { Order, dataSource }).catch((error: Error) => expect(error.message).toBe("ada has enough orders"));
      expect(await dataSource.getRepository(Order).countBy({ customer: "ada" })).toBe(3);
    });

    it("6. insertOnce: the retried request finds the first one's row", async () => {
      const run = await runSnippet(snippetWith("class Payment"), {}, "payments");
      opened.push(run.result);
      expect(run.logs).toEqual([[true, false, true]]);
    });
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

  it("typeorm-transactional: a stale save in a @Transactional() method rolls the earlier one back", async () => {
    const options = { type: "better-sqlite3", database: ":memory:", entities: [wallet.Wallet], synchronize: true };
    const run = await runSnippet(snippetWith('from "typeorm-transactional"'), { Wallet: wallet.Wallet, options }, "{ WalletService, dataSource }");
    const dataSource: DataSource = await run.result.dataSource.initialize();
    opened.push(dataSource);
    const wallets = dataSource.getRepository(wallet.Wallet);
    const [from, to] = await wallets.save([wallets.create({ balance: 100 }), wallets.create({ balance: 0 })]);
    await wallets.save({ ...(await wallets.findOneByOrFail({ id: to.id })), balance: 5 }); // someone else moved `to` on

    const failure = await new run.result.WalletService().transfer(from, to, 30).catch((error: unknown) => error);
    expect(failure).toMatchObject({ name: "StaleDataError", entityName: "Wallet", expectedVersion: 1, actualVersion: 2 });
    expect(await wallets.findOneByOrFail({ id: from.id })).toMatchObject({ balance: 100, version: 1 });
    expect(await wallets.findOneByOrFail({ id: to.id })).toMatchObject({ balance: 5, version: 2 });
  });

  it("covers every TypeScript snippet (the NestJS one and the CommonJS/ESM entry file run elsewhere)", () => {
    // test/nest/ boots real Nest apps wired with OccModule.forRoot() and every other registration.
    const nest = snippetWith('from "typeorm-occ/nest"');
    expect(snippets[nest]).toContain("imports: [OccModule.forRoot()]");
    // test/packaging/ compiles and runs this one, taken from the packed README, under every module setup.
    const entryFile = snippetWith("// main.ts\n");
    expect(snippets[entryFile]).toContain("async function main()");
    expect(snippets).toHaveLength(20);
  });
});
