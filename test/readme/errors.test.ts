import type { DataSource, Repository } from "typeorm";
import { docPage } from "./snippets";

const page = docPage("docs/errors.md");

describe("docs/errors.md", () => {
  let aggregate: { dataSource: DataSource; orders: Repository<any>; id: number };
  beforeAll(async () => {
    aggregate = (await docPage("docs/aggregates.md").run("class Order", {}, "{ dataSource, orders, id }")).result;
  });
  afterAll(() => aggregate.dataSource.destroy());

  it("errors are told apart by code", async () => {
    const run = await page.run("console.log(error.name, error.code); // InvalidVersionError invalid-version");
    expect(run.logs).toEqual([
      ["InvalidVersionError", "invalid-version"],
      ["InvalidArgumentError", "withOptimisticRetry"],
    ]);
  });

  it("the fields of StaleDataError", async () => {
    const { orders, id } = aggregate;
    const order = await orders.findOneOrFail({ where: { id }, relations: { lines: true } });
    await orders.save({ ...(await orders.findOneByOrFail({ id })), customer: "someone else" });
    order.customer = "me";
    const run = await page.run("isStaleDataError(error)", { orders, order });
    expect(run.logs).toEqual([[`Order#${id} is stale: expected version 2, found 3 (update)`]]);
  });

  it("disableOccWarning turns one warning off", async () => {
    await page.run("disableOccWarning(");
  });

  it("runs every ts snippet of the page", () => page.expectEverySnippetRun());
});
