import type { DataSource, Repository } from "typeorm";
import { docPage } from "./snippets";

const page = docPage("docs/choosing-a-remedy.md");

/** The Wallet of docs/getting-started.md and the Order of docs/aggregates.md, which this page continues. */
describe("docs/choosing-a-remedy.md", () => {
  const opened: DataSource[] = [];
  let wallet: { Wallet: Function; dataSource: DataSource; id: number };
  let aggregate: { Order: Function; dataSource: DataSource; orders: Repository<any>; id: number };
  beforeAll(async () => {
    wallet = (await docPage("docs/getting-started.md").run("class Wallet", {}, "{ Wallet, dataSource, id: created.id }")).result;
    aggregate = (await docPage("docs/aggregates.md").run("class Order", {}, "{ Order, dataSource, orders, id }")).result;
    opened.push(wallet.dataSource, aggregate.dataSource);
  });
  afterAll(async () => {
    for (const dataSource of opened) if (dataSource.isInitialized) await dataSource.destroy();
  });

  it("updateIf: the withdrawal goes through, the one the balance cannot cover is refused", async () => {
    const { Wallet, dataSource, id } = wallet;
    const run = await page.run("updateIf(wallets, { id, balance: MoreThanOrEqual(100) }", { Wallet, dataSource, id });
    expect(run.logs).toEqual([[true]]);
    expect(await dataSource.getRepository(Wallet).findOneByOrFail({ id })).toMatchObject({ balance: 20, version: 4 });
  });

  it("updateVersioned: the first write against version 5 lands, the second one is stale", async () => {
    const { Wallet, dataSource, id } = wallet;
    const wallets = dataSource.getRepository(Wallet);
    await wallets.update({ id }, { balance: 1020 }); // TypeORM's update() moves the version: 5, as the snippet's client read
    expect(await wallets.findOneByOrFail({ id })).toMatchObject({ version: 5 });
    const run = await page.run("updateVersioned(wallets, { id, version: parseVersion(ifMatch) }", { wallets, id });
    expect(run.logs).toEqual([[6], [5, 6]]);
    expect(await wallets.findOneByOrFail({ id })).toMatchObject({ balance: 1000, version: 6 });
  });

  it("insertOnce: the retried request finds the first one's row", async () => {
    const run = await page.run("class Payment", {}, "payments");
    opened.push(run.result);
    expect(run.logs).toEqual([[true, false, true]]);
  });

  it("lockAggregate: the line changes and the root's version moves once", async () => {
    const { Order, dataSource, orders, id } = aggregate;
    const before = await orders.findOneOrFail({ where: { id }, relations: { lines: true } });
    await page.run("lockAggregate(manager, Order, id", { Order, dataSource, id });
    const after = await orders.findOneOrFail({ where: { id }, relations: { lines: true } });
    expect(after.version).toBe(before.version + 1);
    const total = (order: { lines: Array<{ quantity: number }> }) => order.lines.reduce((sum, line) => sum + line.quantity, 0);
    expect(total(after)).toBe(total(before) + 1);
  });

  it("withAdvisoryLock: two concurrent runs open one order", async () => {
    const { Order, dataSource } = aggregate;
    const text = 'withAdvisoryLock(dataSource, "open-order:grace"';
    const runs = await Promise.all([page.run(text, { Order, dataSource }), page.run(text, { Order, dataSource })]);
    expect(runs.map((run) => run.logs)).toEqual([[["grace"]], [["grace"]]]);
    expect(await dataSource.getRepository(Order).countBy({ customer: "grace" })).toBe(1);
  });

  it("withOptimisticRetry at SERIALIZABLE: the rule holds", async () => {
    const { Order, dataSource } = aggregate;
    for (let i = 0; i < 4; i++) {
      await page
        .run('isolationLevel: "SERIALIZABLE"', { Order, dataSource })
        .catch((error: Error) => expect(error.message).toBe("ada has enough orders"));
    }
    expect(await dataSource.getRepository(Order).countBy({ customer: "ada" })).toBe(3);
  });

  it("runs every ts snippet of the page", () => page.expectEverySnippetRun());
});
