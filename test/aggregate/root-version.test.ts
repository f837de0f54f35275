import { StaleDataError, uncheckedMemberWrite } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";
import { typeormLine } from "../versions/typeorm-line";
import {
  Cart,
  CartItem,
  Invoice,
  LineNote,
  Order,
  OrderLine,
  Playlist,
  Shipment,
  Tag,
  Track,
  aggregateEntities,
} from "../support/entities/aggregate";

describe.each(enabledDrivers({ mariadb: true }))("@AggregateRoot on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: aggregateEntities });
  });
  afterAll(async () => db?.close());

  const orders = () => db.dataSource.getRepository(Order);
  const lines = () => db.dataSource.getRepository(OrderLine);
  const loadOrder = (id: number) =>
    orders().findOneOrFail({ where: { id }, relations: { lines: { notes: true } }, order: { lines: { id: "ASC" } } });
  const rootUpdates = (statements: string[]) => statements.filter((sql) => /^UPDATE\s+[`"]order[`"]/i.test(sql));

  async function newOrder(lineCount = 2): Promise<Order> {
    const order = orders().create({
      customer: "ada",
      lines: Array.from({ length: lineCount }, (_, i) => ({ product: `p${i + 1}`, quantity: 1, notes: [{ text: "n" }] })),
    });
    await orders().save(order);
    return loadOrder(order.id);
  }

  it("bumps the root with a checked UPDATE when only a child changed", async () => {
    const order = await newOrder();
    order.lines[0].quantity = 5;
    const statements = await db.log.capture(() => orders().save(order));
    const roots = rootUpdates(statements);
    expect(roots).toHaveLength(1);
    expect(roots[0]).toMatch(/SET .*version.* WHERE .*id.* AND .*version/i);
    expect(statements.filter((sql) => /^UPDATE\s+[`"]order_line[`"]/i.test(sql))).toHaveLength(1);
    expect(order.version).toBe(2);
    expect((await loadOrder(order.id)).version).toBe(2);
  });

  it("bumps the root when a child is added, orphan-removed, or a grandchild changes", async () => {
    const order = await newOrder();
    const countP1Before = await lines().countBy({ product: "p1" });
    order.lines.push(lines().create({ product: "new", quantity: 1, notes: [] }));
    await orders().save(order);
    expect(order.version).toBe(2);

    const reloaded = await loadOrder(order.id);
    reloaded.lines = reloaded.lines.filter((line) => line.product !== "p1");
    await orders().save(reloaded);
    expect(reloaded.version).toBe(3);
    expect((await loadOrder(order.id)).lines.map((line) => line.product)).toEqual(["p2", "new"]);
    expect(await lines().findOneBy({ product: "p1", order: { id: order.id } })).toBeNull();
    expect(await lines().countBy({ product: "p1" })).toBe(countP1Before - 1);

    const third = await loadOrder(order.id);
    third.lines[0].notes[0].text = "changed grandchild";
    await orders().save(third);
    expect(third.version).toBe(4);
    expect((await loadOrder(order.id)).version).toBe(4);
  });

  it("bumps the root for soft-delete and nullify orphans", async () => {
    const carts = db.dataSource.getRepository(Cart);
    const cart = await carts.save(carts.create({ items: [{ sku: "a" }, { sku: "b" }] }));
    const loadedCart = await carts.findOneOrFail({ where: { id: cart.id }, relations: { items: true } });
    loadedCart.items = loadedCart.items.filter((item) => item.sku === "a");
    await carts.save(loadedCart);
    expect(loadedCart.version).toBe(2);
    const softRemoved = await db.dataSource
      .getRepository(CartItem)
      .findOneOrFail({ where: { id: cart.items.find((item) => item.sku === "b")!.id }, withDeleted: true });
    expect(softRemoved.removedAt).toBeInstanceOf(Date);

    const playlists = db.dataSource.getRepository(Playlist);
    const playlist = await playlists.save(playlists.create({ tracks: [{ title: "x" }, { title: "y" }] }));
    const loaded = await playlists.findOneOrFail({ where: { id: playlist.id }, relations: { tracks: true } });
    loaded.tracks = loaded.tracks.filter((track) => track.title === "x");
    await playlists.save(loaded);
    expect(loaded.version).toBe(2);
    const orphan = await db.dataSource.getRepository(Track).findOneOrFail({ where: { title: "y" }, relations: { playlist: true } });
    expect(orphan.playlist).toBeNull();
  });

  it("moves the root exactly once when the root and several children change, folding the bump into the root's UPDATE", async () => {
    const order = await newOrder(3);
    order.customer = "grace";
    order.lines.forEach((line) => (line.quantity += 1));
    order.lines.push(lines().create({ product: "extra", quantity: 1 }));
    const statements = await db.log.capture(() => orders().save(order));
    expect(rootUpdates(statements)).toHaveLength(1);
    expect(order.version).toBe(2);
    expect(await loadOrder(order.id)).toMatchObject({ customer: "grace", version: 2 });
  });

  it("moves the root once per transaction across several saves", async () => {
    const order = await newOrder();
    await db.dataSource.transaction(async (manager) => {
      order.lines[0].quantity = 7;
      await manager.save(order);
      order.lines[1].quantity = 8;
      await manager.save(order);
      order.customer = "changed in the same transaction";
      await manager.save(order);
      const line = await manager.findOneOrFail(OrderLine, { where: { id: order.lines[0].id }, relations: { order: true } });
      line.quantity = 9;
      await manager.save(line);
    });
    expect(order.version).toBe(2);
    expect((await loadOrder(order.id)).version).toBe(2);
  });

  it("issues no UPDATE when nothing in the aggregate changed", async () => {
    const order = await newOrder();
    const statements = await db.log.capture(() => orders().save(order));
    expect(statements.filter((sql) => /^(UPDATE|INSERT|DELETE)/i.test(sql))).toEqual([]);
    expect(order.version).toBe(1);
  });

  it("makes two users who change different lines of one order conflict", async () => {
    const created = await newOrder();
    const alice = await loadOrder(created.id);
    const bob = await loadOrder(created.id);
    alice.lines[0].quantity = 10;
    bob.lines[1].quantity = 20;
    await orders().save(alice);

    const error = await orders()
      .save(bob)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StaleDataError);
    expect(error).toMatchObject({ entityName: "Order", primaryKey: { id: created.id }, expectedVersion: 1, actualVersion: 2 });
    expect(bob.version).toBe(1);
    const final = await loadOrder(created.id);
    expect(final.lines.map((line) => line.quantity)).toEqual([10, 1]);
    expect(final.version).toBe(2);
  });

  describe("a child saved through its own repository", () => {
    it("checks the root version the child carries", async () => {
      const order = await newOrder();
      const line = await lines().findOneOrFail({ where: { id: order.lines[0].id }, relations: { order: true } });
      line.quantity = 3;
      await lines().save(line);
      expect(line.order.version).toBe(2);
      expect((await loadOrder(order.id)).version).toBe(2);

      const staleLine = await lines().findOneOrFail({ where: { id: order.lines[1].id }, relations: { order: true } });
      staleLine.order.version = 1; // the root this client saw is outdated
      staleLine.quantity = 4;
      await expect(lines().save(staleLine)).rejects.toMatchObject({ name: "StaleDataError", entityName: "Order" });
      expect((await lines().findOneByOrFail({ id: staleLine.id })).quantity).toBe(1);
    });

    it("refuses a child loaded without its root, writing nothing, unless the caller accepts last-writer-wins", async () => {
      const order = await newOrder();
      const holder = await loadOrder(order.id);
      const line = await lines().findOneByOrFail({ id: order.lines[0].id });
      line.quantity = 11;
      const statements = await db.log.capture(() =>
        expect(lines().save(line)).rejects.toMatchObject({ name: "UnguardedWriteError", entityName: "OrderLine" }),
      );
      expect(statements.filter((sql) => /^(UPDATE|INSERT|DELETE)/i.test(sql))).toEqual([]);
      expect((await loadOrder(order.id)).lines[0].quantity).toBe(1);

      await lines().save(line, uncheckedMemberWrite());
      expect((await loadOrder(order.id)).version).toBe(2); // moved unchecked: every holder of the root goes stale
      holder.customer = "late";
      await expect(orders().save(holder)).rejects.toBeInstanceOf(StaleDataError);
    });

    it("bumps the root when a child is inserted or removed on its own, and when a grandchild changes", async () => {
      const order = await newOrder();
      await lines().save(lines().create({ product: "solo", quantity: 1, order: { id: order.id } }));
      expect((await loadOrder(order.id)).version).toBe(2);

      const line = await lines().findOneOrFail({ where: { product: "solo", order: { id: order.id } }, relations: { order: true } });
      await lines().remove(line);
      expect((await loadOrder(order.id)).version).toBe(3);

      const notes = db.dataSource.getRepository(LineNote);
      const note = await notes.findOneOrFail({ where: { line: { id: order.lines[0].id } }, relations: { line: { order: true } } });
      note.text = "edited directly";
      await notes.save(note);
      expect((await loadOrder(order.id)).version).toBe(4);
    });

    it("bumps the root of an explicitly declared member", async () => {
      const order = await newOrder();
      const shipments = db.dataSource.getRepository(Shipment);
      const { id } = await shipments.save(shipments.create({ carrier: "ups", order: { id: order.id } }));
      expect((await loadOrder(order.id)).version).toBe(2);
      const shipment = await shipments.findOneOrFail({ where: { id }, relations: { order: true } });
      shipment.carrier = "dhl";
      await shipments.save(shipment);
      expect((await loadOrder(order.id)).version).toBe(3);
    });
  });

  it("counts many-to-many link changes as changes of the owner's aggregate", async () => {
    const tag = await db.dataSource.getRepository(Tag).save({ label: "rush" });
    const order = await newOrder();
    const withTags = await orders().findOneOrFail({ where: { id: order.id }, relations: { tags: true } });
    withTags.tags.push(tag);
    await orders().save(withTags);
    expect(withTags.version).toBe(2);
  });

  it("bumps each root of a multi-root save against its own version", async () => {
    const [first, second] = [await newOrder(), await newOrder()];
    await lines().save({ ...(await lines().findOneByOrFail({ id: second.lines[0].id })), quantity: 99 }, uncheckedMemberWrite()); // second is now stale
    first.lines[0].quantity = 2;
    second.lines[1].quantity = 2;
    await expect(orders().save([first, second])).rejects.toMatchObject({ name: "StaleDataError", primaryKey: { id: second.id } });
    expect((await loadOrder(first.id)).lines[0].quantity).toBe(1);
    expect(first.version).toBe(1);

    const fresh = [await loadOrder(first.id), await loadOrder(second.id)];
    fresh.forEach((order) => (order.lines[0].quantity = 3));
    await orders().save(fresh);
    expect(fresh.map((order) => order.version)).toEqual([2, 3]);
  });

  it("checks a root removal like any versioned row: locked and checked before its members, never moved", async () => {
    const order = await newOrder();
    const stale = await loadOrder(order.id);
    order.lines[0].quantity = 4;
    await orders().save(order);
    await expect(orders().remove(stale)).rejects.toMatchObject({
      name: "StaleDataError",
      entityName: "Order",
      expectedVersion: 1,
      actualVersion: 2,
    });
    expect(await lines().countBy({ order: { id: order.id } })).toBe(2);

    const current = await loadOrder(order.id);
    const statements = await db.log.capture(() => orders().remove(current));
    const writes = statements.filter((sql) => /^(UPDATE|DELETE)/i.test(sql));
    if (typeormLine === "1.x") {
      // TypeORM 1.x deletes the cascaded members itself: the root first (SET version = v WHERE … AND
      // version = v: a lock and a check), then its members, then the root.
      expect(writes[0]).toMatch(/^UPDATE\s+[`"]order[`"] SET [`"]version[`"] = \S+ WHERE .*[`"]version[`"] = /i);
      expect(writes.slice(1).every((sql) => /^DELETE/i.test(sql))).toBe(true);
      expect(writes.at(-1)).toMatch(/^DELETE FROM [`"]order[`"]/i);
    } else {
      // TypeORM 0.3 deletes the root alone and leaves the members to the foreign key's ON DELETE CASCADE.
      expect(writes).toEqual([expect.stringMatching(/^DELETE FROM [`"]order[`"] WHERE .*[`"]version[`"] = /i)]);
      expect(await lines().countBy({ order: { id: order.id } })).toBe(0);
    }
    expect(await orders().findOneBy({ id: order.id })).toBeNull();
  });

  it("checks both versions when a member has its own", async () => {
    const invoices = db.dataSource.getRepository(Invoice);
    const invoice = await invoices.save(invoices.create({ number: "I-1", lines: [{ amount: 10 }] }));
    const loaded = await invoices.findOneOrFail({ where: { id: invoice.id }, relations: { lines: true } });
    loaded.lines[0].amount = 20;
    await invoices.save(loaded);
    expect(loaded.version).toBe(2);
    expect(loaded.lines[0].version).toBe(2);
  });
});
