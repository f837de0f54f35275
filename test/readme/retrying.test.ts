import type { DataSource } from "typeorm";
import { docPage } from "./snippets";

const page = docPage("docs/retrying.md");

describe("docs/retrying.md", () => {
  let wallet: { Wallet: Function; dataSource: DataSource; id: number };
  beforeAll(async () => {
    wallet = (await docPage("docs/getting-started.md").run("class Wallet", {}, "{ Wallet, dataSource, id: created.id }")).result;
  });
  afterAll(() => wallet.dataSource.destroy());

  it("withOptimisticRetry loads fresh and saves the deposit", async () => {
    const { Wallet, dataSource, id } = wallet;
    await page.run("withOptimisticRetry(async (manager)", { Wallet, dataSource, id });
    expect(await dataSource.getRepository(Wallet).findOneByOrFail({ id })).toMatchObject({ balance: 1120, version: 4 });
  });

  it("runs every ts snippet of the page", () => page.expectEverySnippetRun());
});
