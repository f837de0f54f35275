import type { DataSource } from "typeorm";
import { docPage } from "./snippets";

const page = docPage("docs/getting-started.md");

describe("docs/getting-started.md", () => {
  const opened: DataSource[] = [];
  afterAll(async () => {
    for (const dataSource of opened) if (dataSource.isInitialized) await dataSource.destroy();
  });

  it("the wallet story: Bob's stale save fails, the reload-and-retry loses nothing", async () => {
    const run = await page.run("class Wallet", {}, "{ Wallet, dataSource, id: created.id }");
    opened.push(run.result.dataSource);
    expect(run.logs).toEqual([[2], ["Wallet#1 is stale: expected version 1, found 2 (update)"]]);
    const row = await run.result.dataSource.getRepository(run.result.Wallet).findOneByOrFail({ id: run.result.id });
    expect(row).toMatchObject({ balance: 120, version: 3 });
  });

  it("parseVersion accepts digits only", async () => {
    const run = await page.run("parseVersion(");
    expect(run.logs).toEqual([[3], [true], [true], [true], [true], [true], [true]]);
  });

  it("runs every ts snippet of the page", () => page.expectEverySnippetRun());
});
