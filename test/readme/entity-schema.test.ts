import { docPage } from "./snippets";

const page = docPage("docs/entity-schema.md");

describe("docs/entity-schema.md", () => {
  it("EntitySchema entities marked with occSchema(): a stale cart is refused for another item's change", async () => {
    const run = await page.run("occSchema(", {}, "{ dataSource, carts, id }");
    try {
      expect(run.logs).toEqual([[2], ["cart#1 is stale: expected version 1, found 2 (update)"]]);
      const final = await run.result.carts.findOneOrFail({
        where: { id: run.result.id },
        relations: { items: true },
        order: { items: { id: "ASC" } },
      });
      expect(final.version).toBe(2);
      expect(final.items.map((item: { quantity: number }) => item.quantity)).toEqual([2, 1]);
    } finally {
      await run.result.dataSource.destroy();
    }
  });

  it("runs every ts snippet of the page", () => page.expectEverySnippetRun());
});
