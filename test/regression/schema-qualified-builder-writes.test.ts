import { QueryFailedError } from "typeorm";
import { OccError, UnguardedWriteError } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { eachDriver } from "../support/each-driver";
import { CartItem, Order, OrderLine, aggregateEntities } from "../support/entities/aggregate";
import { Doc, coreEntities } from "../support/entities/core";

/**
 * Issue 14, section 3: a query-builder write naming an entity's table schema-qualified —
 * `update("public.order_line")` on PostgreSQL, `update("<database>.order_line")` on MariaDB,
 * `update("main.order_line")` on SQLite, where `ORDER_LINE` reaches the same table too — matched no
 * metadata and passed the write guard as a raw table: member rows updated and deleted with no root
 * move, a versioned row's version set backwards. Such a name is resolved to its entity like the
 * plain one (quoted parts too), and refused the same way before anything is sent; a name that
 * reaches no entity's table is still a raw table.
 */
eachDriver(undefined, { mariadb: true })("schema-qualified table names in query-builder writes on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: [...coreEntities, ...aggregateEntities] });
  });
  afterAll(async () => db?.close());

  const qb = () => db.dataSource.createQueryBuilder();
  const orders = () => db.dataSource.getRepository(Order);
  const lines = () => db.dataSource.getRepository(OrderLine);
  /** The schema or database an unqualified name resolves in. */
  const where = () => (driver === "postgres" ? "public" : driver === "sqlite" ? "main" : String(db.dataSource.driver.database));
  const quote = (name: string) => (driver === "mariadb" ? `\`${name}\`` : `"${name}"`);
  const names = (table: string) => [
    `${where()}.${table}`,
    `${quote(where())}.${quote(table)}`,
    `${where()}.${quote(table)}`,
    ...(driver === "sqlite" ? [table.toUpperCase(), `${where().toUpperCase()}.${table}`] : []),
  ];

  async function refused(work: () => Promise<unknown>, operation: string): Promise<void> {
    let error: unknown;
    const statements = await db.log.capture(async () => {
      error = await work().catch((e: unknown) => e);
    });
    expect(error).toBeInstanceOf(UnguardedWriteError);
    expect(error).toMatchObject({ operation });
    expect(statements.filter((sql) => /^\s*(UPDATE|INSERT|DELETE|TRUNCATE)/i.test(sql))).toEqual([]);
  }

  it("reproduction: update, delete and insert of a member table named schema-qualified are refused; no line changes, no root moves", async () => {
    const order = await orders().save(orders().create({ customer: "ada", lines: [{ product: "tea", quantity: 1, notes: [] }] }));
    const lineId = order.lines[0].id;
    for (const table of names("order_line")) {
      await refused(() => qb().update(table).set({ quantity: 5 }).where("id = :id", { id: lineId }).execute(), "update()");
      await refused(() => qb().delete().from(table).where("id = :id", { id: lineId }).execute(), "delete()");
      await refused(() => qb().insert().into(table).values({ product: "x", quantity: 1, orderId: order.id }).execute(), "insert()");
    }
    for (const table of names("cart_item")) await refused(() => qb().softDelete().from(table).execute(), "softDelete()");
    expect(await lines().findOneByOrFail({ id: lineId })).toMatchObject({ product: "tea", quantity: 1 });
    expect(await lines().countBy({ order: { id: order.id } })).toBe(1);
    expect((await orders().findOneByOrFail({ id: order.id })).version).toBe(1);
    expect(await db.dataSource.getRepository(CartItem).count()).toBe(0);
  });

  it("reproduction: a versioned table named schema-qualified cannot have its version set backwards", async () => {
    const docs = db.dataSource.getRepository(Doc);
    const doc = await docs.save(docs.create({ title: "a" }));
    doc.title = "b";
    await docs.save(doc); // version 2
    for (const table of names("doc"))
      await refused(() => qb().update(table).set({ title: "c", version: 1 }).where("id = :id", { id: doc.id }).execute(), "update()");
    expect(await docs.findOneByOrFail({ id: doc.id })).toMatchObject({ title: "b", version: 2 });
  });

  it("refuses a schema-qualified update, insert or soft delete of a versioned table even without a version: TypeORM would not move it", async () => {
    const docs = db.dataSource.getRepository(Doc);
    const doc = await docs.save(docs.create({ title: "a" }));
    for (const table of names("doc")) {
      await refused(() => qb().update(table).set({ title: "b" }).where("id = :id", { id: doc.id }).execute(), "update()");
      await refused(() => qb().insert().into(table).values({ title: "new" }).execute(), "insert()");
    }
    for (const table of names("soft_doc")) await refused(() => qb().softDelete().from(table).execute(), "softDelete()");
    expect(await docs.findOneByOrFail({ id: doc.id })).toMatchObject({ title: "a", version: 1 });
    // The plain name is matched by TypeORM itself, which moves the version.
    await qb().update("doc").set({ title: "b" }).where("id = :id", { id: doc.id }).execute();
    expect(await docs.findOneByOrFail({ id: doc.id })).toMatchObject({ title: "b", version: 2 });
  });

  it("lets a schema-qualified delete of a versioned (non-member) row through, like delete()", async () => {
    const docs = db.dataSource.getRepository(Doc);
    const doc = await docs.save(docs.create({ title: "gone" }));
    await qb().delete().from(`${where()}.doc`).where("id = :id", { id: doc.id }).execute();
    expect(await docs.countBy({ id: doc.id })).toBe(0);
  });

  it("leaves a name in another schema or database alone: a raw table the guard does not know", async () => {
    const error = await qb()
      .update("elsewhere.order_line")
      .set({ quantity: 5 })
      .execute()
      .catch((e: unknown) => e);
    // No such table: the database's answer, not the guard's (TypeORM 0.3's SQLite runner does not wrap it in QueryFailedError).
    expect(error).not.toBeInstanceOf(OccError);
    expect(error instanceof QueryFailedError || (error as Error).name === "SqliteError").toBe(true);
  });
});
