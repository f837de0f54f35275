import type { DataSource, Repository } from "typeorm";
import { docPage } from "./snippets";

const page = docPage("docs/aggregates.md");

describe("docs/aggregates.md", () => {
  const opened: DataSource[] = [];
  afterAll(async () => {
    for (const dataSource of opened) if (dataSource.isInitialized) await dataSource.destroy();
  });

  let aggregate: { Order: Function; OrderLine: Function; dataSource: DataSource; orders: Repository<any>; id: number };

  it("the Order aggregate: Bob's change of another line is refused for the root, which is written first", async () => {
    const run = await page.run("@AggregateRoot()\n@Entity()\nclass Order", {}, "{ Order, OrderLine, dataSource, orders, id }");
    aggregate = run.result;
    opened.push(aggregate.dataSource);
    expect(run.logs).toEqual([[true, "Order"]]);
    const final = await aggregate.orders.findOneOrFail({
      where: { id: aggregate.id },
      relations: { lines: true },
      order: { lines: { id: "ASC" } },
    });
    expect(final.version).toBe(2);
    expect(final.lines.map((line: { quantity: number }) => line.quantity)).toEqual([2, 1]);
    // The comment under Alice's save: the root's checked UPDATE, then the line's.
    const updates = run.statements.filter((sql) => /^UPDATE/i.test(sql));
    // TypeORM 0.3 writes the key as `"id" IN (1)`, 1.x as `"id" = 1`.
    expect(updates[0]).toMatch(/^UPDATE "order" SET "version" = (2|\?) WHERE "id" (= (1|\?)|IN \((1|\?)\)) AND "version" = (1|\?)$/);
    expect(updates[1]).toMatch(/^UPDATE "order_line" SET "quantity" = (2|\?) WHERE "id"/);
  });

  it("an explicit @AggregateMember moves its root", async () => {
    const run = await page.run("class Shipment", { Order: aggregate.Order }, "Shipment");
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
    await page.run("uncheckedMemberWrite()", { lines, id: lineId });
    expect((await lines.findOneByOrFail({ id: lineId })).quantity).toBe(3);
    expect((await orders.findOneByOrFail({ id })).version).toBe(before + 1);
  });

  it("runs every ts snippet of the page", () => page.expectEverySnippetRun());
});
