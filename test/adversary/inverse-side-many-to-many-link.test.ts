import { UnguardedWriteError } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";
import { Basket, Label, adversaryEntities } from "./support/entities";

/**
 * Adversary finding: a root's many-to-many links written from the other side of the relation.
 * Basket (root) owns `labels`; Label has the inverse `baskets`. Y links label b to the basket by
 * saving the label (`label.baskets.push(basket)`): the junction row is inserted and the basket's
 * version does not move. X, holding the basket at that same version with labels [a], removes a and
 * saves: its check passes and TypeORM deletes both links, a and b — Y's acknowledged link is gone
 * and nobody was told. Promise: adding or removing a link is a change of the owner's aggregate,
 * whichever side of the relation the user wrote (issue 9, item 1's rule).
 * Likely cause: src/aggregate/root-resolver.ts (membershipOf) takes a junction row's owner from
 * `subject.parentSubject`, which is the Label when the link is written from the inverse side; Label
 * reaches no root, so no root moves, and member-guard.ts lets "no aggregate" through. The owner must
 * come from the junction row's own owner-side key (the basketId column), not from the subject that
 * cascaded it.
 */
describe.each(enabledDrivers({ mariadb: true }))("a many-to-many link written from the inverse side on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: adversaryEntities });
  });
  afterAll(async () => db?.close());

  const baskets = () => db.dataSource.getRepository(Basket);
  const labels = () => db.dataSource.getRepository(Label);
  const loadBasket = (id: number) =>
    baskets().findOneOrFail({ where: { id }, relations: { labels: true }, order: { labels: { id: "ASC" } } });

  async function basketWithLabel(): Promise<{ basket: Basket; a: Label; b: Label }> {
    const a = await labels().save(labels().create({ text: "a" }));
    const b = await labels().save(labels().create({ text: "b" }));
    const created = await baskets().save(baskets().create({ owner: "x", items: [] }));
    const basket = await loadBasket(created.id);
    basket.labels.push(a);
    await baskets().save(basket);
    return { basket: await loadBasket(created.id), a, b };
  }

  it("moves the basket's version (or refuses the write), so a holder of the old version cannot drop the link", async () => {
    const { basket, b } = await basketWithLabel();
    const x = await loadBasket(basket.id);

    const y = await labels().findOneOrFail({ where: { id: b.id }, relations: { baskets: true } });
    y.baskets.push(await baskets().findOneByOrFail({ id: basket.id }));
    const linked = await labels()
      .save(y)
      .then(
        () => true,
        (error: unknown) => {
          if (error instanceof UnguardedWriteError) return false; // a typed refusal would keep the promise too
          throw error;
        },
      );

    x.labels = [];
    const xResult = await baskets()
      .save(x)
      .then(
        () => "saved",
        (error: Error) => error.name,
      );
    const after = await loadBasket(basket.id);
    if (linked) {
      // Y's link was acknowledged: X, who never saw it, must not have removed it silently.
      expect(xResult).toBe("StaleDataError");
      expect(after.labels.map((label) => label.text)).toEqual(["a", "b"]);
    } else {
      expect(xResult).toBe("saved");
      expect(after.labels).toEqual([]);
    }
  });

  it("control: the same link written from the owning side moves the version", async () => {
    const { basket, b } = await basketWithLabel();
    const y = await loadBasket(basket.id);
    y.labels.push(b);
    await baskets().save(y);
    expect((await baskets().findOneByOrFail({ id: basket.id })).version).toBe(basket.version + 1);
  });
});
