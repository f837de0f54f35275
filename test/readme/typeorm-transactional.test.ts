import type { DataSource } from "typeorm";
import { docPage } from "./snippets";

const page = docPage("docs/typeorm-transactional.md");

describe("docs/typeorm-transactional.md", () => {
  const opened: DataSource[] = [];
  afterAll(async () => {
    for (const dataSource of opened) if (dataSource.isInitialized) await dataSource.destroy();
  });

  it("a stale save in a @Transactional() method rolls the earlier one back", async () => {
    const wallet = (await docPage("docs/getting-started.md").run("class Wallet", {}, "{ Wallet, dataSource }")).result;
    opened.push(wallet.dataSource);
    const options = { type: "better-sqlite3", database: ":memory:", entities: [wallet.Wallet], synchronize: true };
    const run = await page.run('from "typeorm-transactional"', { Wallet: wallet.Wallet, options }, "{ WalletService, dataSource }");
    const dataSource: DataSource = await run.result.dataSource.initialize();
    opened.push(dataSource);
    const wallets = dataSource.getRepository(wallet.Wallet);
    const [from, to] = await wallets.save([wallets.create({ balance: 100 }), wallets.create({ balance: 0 })]);
    await wallets.save({ ...(await wallets.findOneByOrFail({ id: to.id })), balance: 5 }); // someone else moved `to` on

    const failure = await new run.result.WalletService().transfer(from, to, 30).catch((error: unknown) => error);
    expect(failure).toMatchObject({ name: "StaleDataError", entityName: "Wallet", expectedVersion: 1, actualVersion: 2 });
    expect(await wallets.findOneByOrFail({ id: from.id })).toMatchObject({ balance: 100, version: 1 });
    expect(await wallets.findOneByOrFail({ id: to.id })).toMatchObject({ balance: 5, version: 2 });
    expect(from.version).toBe(1); // the in-memory version followed the rollback
  });

  it("runs every ts snippet of the page", () => page.expectEverySnippetRun());
});
