import type { EntityManager } from "typeorm";
import { StaleDataError } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { eachDriver } from "../support/each-driver";
import { Cart, CartItem, aggregateEntities } from "../support/entities/aggregate";

/**
 * Adversary finding (issue 14 section 1, through soft removal): a cart whose removed items are
 * soft-deleted (`orphanedRowAction: "soft-delete"`). A copy of the cart is read with its items
 * (the soft-deleted item is not among them). Inside a transaction the item is recovered
 * (`manager.recover(item)`: back in the cart), then the older copy is saved with a new item. It passes,
 * and TypeORM — whose pre-load reads relation ids `withDeleted` — treats the recovered item as an
 * orphan of the older copy and soft-deletes it again: the recovery is silently undone.
 * The recovery is recorded as a member "update" of a row the copy does not hold, and an update of a
 * row the copy does not hold is not a miss (current-copy.ts, treeMisses). For the copy's collection a
 * recovery is an insertion.
 * A correct library records a recover as an insertion into the aggregate (and a soft removal as a
 * removal), so a copy holding the collection from before is refused with StaleDataError.
 */
eachDriver(undefined, { mariadb: true })("a member recovered, then an older copy of its aggregate on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: aggregateEntities });
  });
  afterAll(async () => db?.close());

  it("refuses the older copy holding the items: the recovered item stays", async () => {
    const carts = db.dataSource.getRepository(Cart);
    const { id } = await carts.save(carts.create({ items: [{ sku: "a" }, { sku: "b" }] }));
    const loaded = await carts.findOneOrFail({ where: { id }, relations: { items: true } });
    const removedId = loaded.items.find((item) => item.sku === "b")!.id;
    loaded.items = loaded.items.filter((item) => item.sku !== "b");
    await carts.save(loaded); // b soft-deleted, cart at version 2
    const older = await carts.findOneOrFail({ where: { id }, relations: { items: true } });
    expect(older.items.map((item) => item.sku)).toEqual(["a"]);
    let caught: unknown;
    await db.dataSource.transaction(async (manager: EntityManager) => {
      const item = await manager.findOneOrFail(CartItem, { where: { id: removedId }, withDeleted: true, relations: { cart: true } });
      await manager.recover(item);
      older.items.push(manager.create(CartItem, { sku: "c" }));
      caught = await manager.save(older).catch((error: unknown) => error);
    });
    expect(caught).toBeInstanceOf(StaleDataError);
    // The recovery committed and stays; the older copy's save wrote nothing.
    const stored = await carts.findOneOrFail({ where: { id }, relations: { items: true }, order: { items: { id: "ASC" } } });
    expect(stored.items.map((item) => item.sku)).toEqual(["a", "b"]);
  });
});
