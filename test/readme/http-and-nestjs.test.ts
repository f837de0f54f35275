import type { AddressInfo } from "node:net";
import type { DataSource, Repository } from "typeorm";
import { docPage } from "./snippets";

const page = docPage("docs/http-and-nestjs.md");

describe("docs/http-and-nestjs.md", () => {
  let aggregate: { dataSource: DataSource; orders: Repository<any>; id: number };
  beforeAll(async () => {
    aggregate = (await docPage("docs/aggregates.md").run("class Order", {}, "{ dataSource, orders, id }")).result;
  });
  afterAll(() => aggregate.dataSource.destroy());

  it("the HTTP helpers in an Express app: 428, 400, 200 with a new ETag, then 412", async () => {
    const { orders, id } = aggregate;
    const run = await page.run('from "typeorm-occ/http"', { orders }, "app");
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
      expect(await stale.json()).toMatchObject({ status: 412, code: "stale-data", entity: "Order" });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("the NestJS module runs elsewhere: test/nest boots real Nest apps wired with OccModule.forRoot()", () => {
    expect(page.snippet('from "typeorm-occ/nest"')).toContain("imports: [OccModule.forRoot()]");
    page.runsElsewhere('from "typeorm-occ/nest"', "test/nest/");
  });

  it("runs every ts snippet of the page", () => page.expectEverySnippetRun());
});
