import { Column, Entity, ManyToOne, OneToMany, PrimaryGeneratedColumn, type EntityManager } from "typeorm";
import {
  AggregateRoot,
  VersionColumn,
  StaleDataError,
  deleteVersioned,
  increment,
  insertOnce,
  updateIf,
  updateVersioned,
} from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { eachDriver } from "../support/each-driver";
import { Invoice, InvoiceLine, Order, OrderLine } from "../support/entities/aggregate";
import { Account, writeEntities } from "../writes/support/entities";

/** A basket whose lines carry a unique key of their own (insertOnce on a member). */
@AggregateRoot()
@Entity()
class Basket {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") note!: string;
  @VersionColumn() version!: number;
  @OneToMany(() => BasketLine, (line) => line.basket, { cascade: true })
  lines!: BasketLine[];
}

@Entity()
class BasketLine {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar", { unique: true }) sku!: string;
  @Column("integer") quantity!: number;
  /** Orphans are detached (TypeORM's default "nullify"). */
  @ManyToOne(() => Basket, (basket) => basket.lines, { nullable: true })
  basket!: Basket | null;
}

/**
 * Issue 14, section 1: inside one transaction, the transaction's own write let older copies
 * through — a copy carrying the version from before the transaction's move was mapped onto it,
 * whoever read that copy and when. A copy whose data predates the transaction's own write to its
 * row, or to a part of its aggregate it carries, is now stale on every entry point, while a copy
 * that does not carry the changed part still passes.
 */
eachDriver(undefined, { mariadb: true })("a copy read before its transaction's own write on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: [...writeEntities, Basket, BasketLine] });
  });
  afterAll(async () => db?.close());

  const accounts = () => db.dataSource.getRepository(Account);
  const orders = () => db.dataSource.getRepository(Order);
  const lines = () => db.dataSource.getRepository(OrderLine);
  const invoices = () => db.dataSource.getRepository(Invoice);
  const newAccount = () => accounts().save(accounts().create({ owner: "ada", balance: 100 }));
  const loadOrder = (id: number, manager: EntityManager = db.dataSource.manager) =>
    manager.findOneOrFail(Order, { where: { id }, relations: { lines: true }, order: { lines: { id: "ASC" } } });
  const newOrder = async () =>
    loadOrder((await orders().save(orders().create({ customer: "ada", lines: [{ product: "p", quantity: 1, notes: [] }] }))).id);
  /** Runs `work` in a transaction; returns what it threw (the transaction then rolled back). */
  const failureOf = async (work: (manager: EntityManager) => Promise<unknown>): Promise<unknown> => {
    try {
      await db.dataSource.transaction(work);
    } catch (error) {
      return error;
    }
    return undefined;
  };

  describe("updateVersioned / deleteVersioned", () => {
    it("refuses a second updateVersioned of the version the transaction already moved away from", async () => {
      const { id } = await newAccount();
      let second: unknown;
      await db.dataSource.transaction(async (manager) => {
        const repository = manager.getRepository(Account);
        expect(await updateVersioned(repository, { id, version: 1 }, { balance: 50 })).toEqual({ version: 2 });
        second = await updateVersioned(repository, { id, version: 1 }, { balance: 70 }).catch((error: unknown) => error);
      });
      expect(second).toBeInstanceOf(StaleDataError);
      expect(second).toMatchObject({ expectedVersion: 1, actualVersion: 2 });
      expect((second as Error).message).toMatch(/before this transaction's own write/);
      expect(await accounts().findOneByOrFail({ id })).toMatchObject({ balance: 50, version: 2 });
    });

    it("still accepts the version the transaction's own write returned", async () => {
      const { id } = await newAccount();
      await db.dataSource.transaction(async (manager) => {
        const repository = manager.getRepository(Account);
        const { version } = await updateVersioned(repository, { id, version: 1 }, { balance: 50 });
        expect(await updateVersioned(repository, { id, version }, { owner: "grace" })).toEqual({ version: 2 });
      });
      expect(await accounts().findOneByOrFail({ id })).toMatchObject({ balance: 50, owner: "grace", version: 2 });
    });

    it("refuses deleteVersioned of the version from before the transaction's own update", async () => {
      const { id } = await newAccount();
      const error = await failureOf(async (manager) => {
        await updateVersioned(manager.getRepository(Account), { id, version: 1 }, { balance: 50 });
        await deleteVersioned(manager.getRepository(Account), { id, version: 1 });
      });
      expect(error).toBeInstanceOf(StaleDataError);
      expect(await accounts().findOneByOrFail({ id })).toMatchObject({ balance: 100, version: 1 });
    });

    it("refuses save() of a copy read before the transaction, after updateVersioned; caught, the update commits", async () => {
      const before = await newAccount();
      let caught: unknown;
      await db.dataSource.transaction(async (manager) => {
        await updateVersioned(manager.getRepository(Account), { id: before.id, version: 1 }, { balance: 50 });
        before.owner = "grace";
        caught = await manager.save(before).catch((error: unknown) => error);
      });
      expect(caught).toBeInstanceOf(StaleDataError);
      expect(before.version).toBe(1);
      expect(await accounts().findOneByOrFail({ id: before.id })).toMatchObject({ balance: 50, owner: "ada", version: 2 });
    });
  });

  describe("save() of two copies", () => {
    it("refuses the second of two copies read before the transaction", async () => {
      const { id } = await newAccount();
      const [a, b] = [await accounts().findOneByOrFail({ id }), await accounts().findOneByOrFail({ id })];
      const error = await failureOf(async (manager) => {
        a.balance = 10;
        await manager.save(a);
        b.owner = "grace";
        await manager.save(b);
      });
      expect(error).toBeInstanceOf(StaleDataError);
      expect(await accounts().findOneByOrFail({ id })).toMatchObject({ balance: 100, owner: "ada", version: 1 });
    });

    it("refuses a copy read inside the transaction before its write, with transaction: false too", async () => {
      const { id } = await newAccount();
      const error = await failureOf(async (manager) => {
        const [a, b] = [await manager.findOneByOrFail(Account, { id }), await manager.findOneByOrFail(Account, { id })];
        a.balance = 10;
        await manager.save(a, { transaction: false });
        b.owner = "grace";
        await manager.save(b, { transaction: false });
      });
      expect(error).toBeInstanceOf(StaleDataError);
    });

    it("accepts the same copy saved twice, and a copy read after the write; the version moves once", async () => {
      const { id } = await newAccount();
      await db.dataSource.transaction(async (manager) => {
        const a = await manager.findOneByOrFail(Account, { id });
        a.balance = 10;
        await manager.save(a);
        a.owner = "grace";
        await manager.save(a);
        const later = await manager.findOneByOrFail(Account, { id });
        later.currency = "USD";
        await manager.save(later);
        await manager.remove(later);
      });
      expect(await accounts().findOneBy({ id })).toBeNull();
    });

    it("refuses remove() and softRemove-like writes of the older copy", async () => {
      const { id } = await newAccount();
      const older = await accounts().findOneByOrFail({ id });
      const error = await failureOf(async (manager) => {
        await updateVersioned(manager.getRepository(Account), { id, version: 1 }, { balance: 50 });
        await manager.remove(older);
      });
      expect(error).toBeInstanceOf(StaleDataError);
      expect(await accounts().findOneByOrFail({ id })).toMatchObject({ balance: 100 });
    });
  });

  describe("aggregates", () => {
    it("refuses save() of an aggregate copy after updateIf changed one of its lines (read before or inside)", async () => {
      for (const readInside of [false, true]) {
        const order = await newOrder();
        const lineId = order.lines[0].id;
        const error = await failureOf(async (manager) => {
          const copy = readInside ? await loadOrder(order.id, manager) : order;
          await updateIf(manager.getRepository(OrderLine), { id: lineId }, { quantity: increment(5) });
          copy.customer = "grace";
          await manager.save(copy);
        });
        expect(error).toBeInstanceOf(StaleDataError);
        expect(await lines().findOneByOrFail({ id: lineId })).toMatchObject({ quantity: 1 });
      }
    });

    it("refuses a line of that copy saved alone, and accepts a copy read after the updateIf", async () => {
      const order = await newOrder();
      const stale = order.lines[0];
      const error = await failureOf(async (manager) => {
        await updateIf(manager.getRepository(OrderLine), { id: stale.id }, { quantity: increment(5) });
        stale.product = "q";
        await manager.save(stale);
      });
      expect(error).toBeInstanceOf(StaleDataError);
      await db.dataSource.transaction(async (manager) => {
        await updateIf(manager.getRepository(OrderLine), { id: stale.id }, { quantity: increment(5) });
        const fresh = await loadOrder(order.id, manager);
        fresh.lines[0].product = "q";
        fresh.customer = "grace";
        await manager.save(fresh);
      });
      expect(await loadOrder(order.id)).toMatchObject({ customer: "grace", version: 2, lines: [{ product: "q", quantity: 6 }] });
    });

    it("refuses the aggregate copy after updateVersioned moved a member with its own version", async () => {
      const invoice = await invoices().save(invoices().create({ number: "A", lines: [{ amount: 10 }] }));
      const copy = await invoices().findOneOrFail({ where: { id: invoice.id }, relations: { lines: true } });
      const error = await failureOf(async (manager) => {
        await updateVersioned(manager.getRepository(InvoiceLine), { id: copy.lines[0].id, version: 1 }, { amount: 99 });
        copy.number = "B";
        copy.lines[0].amount = 11;
        await manager.save(copy);
      });
      expect(error).toBeInstanceOf(StaleDataError);
      const stored = await invoices().findOneOrFail({ where: { id: invoice.id }, relations: { lines: true } });
      expect(stored).toMatchObject({ number: "A", version: 1, lines: [{ amount: 10, version: 1 }] });
    });

    it("refuses the aggregate copy holding its lines after insertOnce added one: the new line is never detached", async () => {
      const baskets = db.dataSource.getRepository(Basket);
      const { id } = await baskets.save(baskets.create({ note: "n", lines: [{ sku: `old-${Math.random()}`, quantity: 1 }] }));
      const basket = await baskets.findOneOrFail({ where: { id }, relations: { lines: true } });
      let caught: unknown;
      let added = 0;
      await db.dataSource.transaction(async (manager) => {
        const { entity } = await insertOnce(
          manager.getRepository(BasketLine),
          { sku: `new-${id}`, quantity: 1, basket: { id } },
          { conflictPaths: ["sku"] },
        );
        added = entity.id;
        basket.note = "changed";
        caught = await manager.save(basket).catch((error: unknown) => error);
      });
      expect(caught).toBeInstanceOf(StaleDataError);
      const stored = await baskets.findOneOrFail({ where: { id }, relations: { lines: true }, order: { lines: { id: "ASC" } } });
      expect(stored).toMatchObject({ note: "n", version: 2 });
      expect(stored.lines.map((line) => line.id)).toEqual([basket.lines[0].id, added]);
    });

    it("accepts an order read without its lines after a line was added by key: no false conflict", async () => {
      const { id } = await newOrder();
      const order = await orders().findOneByOrFail({ id });
      await db.dataSource.transaction(async (manager) => {
        await manager.save(manager.create(OrderLine, { product: "added", quantity: 2, order: { id } }));
        order.customer = "grace";
        await manager.save(order);
      });
      const stored = await loadOrder(id);
      expect(stored).toMatchObject({ customer: "grace", version: 2 });
      expect(stored.lines).toHaveLength(2);
    });

    it("refuses an order read with its lines after a line was added by key (its save would orphan the new line)", async () => {
      const order = await newOrder();
      const error = await failureOf(async (manager) => {
        await manager.save(manager.create(OrderLine, { product: "added", quantity: 2, order: { id: order.id } }));
        order.customer = "grace";
        await manager.save(order);
      });
      expect(error).toBeInstanceOf(StaleDataError);
      expect((await loadOrder(order.id)).lines).toHaveLength(1);
    });

    it("accepts the aggregate copy whose own line object was saved alone in the transaction", async () => {
      const order = await newOrder();
      await db.dataSource.transaction(async (manager) => {
        order.lines[0].quantity = 3;
        await manager.save(order.lines[0]);
        order.customer = "grace";
        await manager.save(order);
      });
      expect(await loadOrder(order.id)).toMatchObject({ customer: "grace", version: 2, lines: [{ quantity: 3 }] });
    });

    it("refuses a second copy of the aggregate after the first was saved with a changed line", async () => {
      const { id } = await newOrder();
      const [a, b] = [await loadOrder(id), await loadOrder(id)];
      const error = await failureOf(async (manager) => {
        a.lines[0].quantity = 3;
        await manager.save(a);
        b.customer = "grace";
        await manager.save(b);
      });
      expect(error).toBeInstanceOf(StaleDataError);
    });
  });
});
