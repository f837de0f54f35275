import { Column, Entity, PrimaryGeneratedColumn } from "typeorm";
import { VersionColumn } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { eachDriver } from "../support/each-driver";

/** A value object (like a Decimal, a Money, a dayjs): its methods live on its prototype. */
class Cents {
  constructor(readonly amount: number) {}
  toColumn(): number {
    return this.amount;
  }
}

@Entity()
class Product {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") name!: string;
  @Column({
    type: "integer",
    transformer: {
      to: (value: Cents | null | undefined) => (value == null ? value : value.toColumn()),
      from: (value: number | null) => (value == null ? value : new Cents(Number(value))),
    },
  })
  price!: Cents;
  @VersionColumn() version!: number;
}

/**
 * Adversary finding (issue 16, snapshot pre-load): the snapshot copies each column value with
 * structuredClone, which keeps an object's own fields and drops its prototype. For a column whose
 * transformer hydrates a class instance, TypeORM's diff runs `transformer.to` on the snapshot's
 * value — a plain `{ amount }` without `toColumn()` — and save() throws a TypeError before sending
 * anything. Plain TypeORM's pre-load hydrates the value through `transformer.from`, so the same save
 * works (and did with the library before the snapshot pre-load). (A `to` that does not throw, such
 * as `String(value)` on a Decimal, compares "[object Object]" and writes the unchanged column on
 * every save instead.) A correct library keeps a transformed column's value as the database gave
 * it (`transformer.to` of the hydrated value at read time) and hydrates it with `from` for the
 * diff, or keeps the instance (and leaves such columns out of the snapshot, i.e. pre-loads them).
 */
eachDriver(undefined, { mariadb: true })("a transformer that hydrates a class instance, on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: [Product] });
  });
  afterAll(async () => db?.close());

  it("saves a copy whose other column changed", async () => {
    const products = db.dataSource.getRepository(Product);
    const { id } = await products.save(products.create({ name: "pen", price: new Cents(150) }));
    const copy = await products.findOneByOrFail({ id });
    copy.name = "pencil";
    await products.save(copy);
    const after = await products.findOneByOrFail({ id });
    expect(after.name).toBe("pencil");
    expect(after.price.amount).toBe(150);
  });

  it("saves a copy whose transformed column changed", async () => {
    const products = db.dataSource.getRepository(Product);
    const { id } = await products.save(products.create({ name: "pen", price: new Cents(150) }));
    const copy = await products.findOneByOrFail({ id });
    copy.price = new Cents(175);
    await products.save(copy);
    expect((await products.findOneByOrFail({ id })).price.amount).toBe(175);
  });
});
