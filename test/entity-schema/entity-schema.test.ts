import { EntitySchema } from "typeorm";
import { EntityDefinitionError, StaleDataError, VersionColumn, occSchema } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";
import { BasketSchema, DeliverySchema, Note, WalletSchema, schemaEntities, type Basket } from "./schemas";

describe.each(enabledDrivers({ mariadb: true }))("EntitySchema entities marked with occSchema() on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: schemaEntities });
  });
  afterAll(async () => db?.close());

  const wallets = () => db.dataSource.getRepository(WalletSchema);
  const baskets = () => db.dataSource.getRepository(BasketSchema);
  const loadBasket = (id: number) =>
    baskets().findOneOrFail({ where: { id }, relations: { items: true }, order: { items: { id: "ASC" } } });

  it("writes version 1, checks it in the UPDATE's WHERE clause and bumps it", async () => {
    const wallet = await wallets().save(wallets().create({ owner: "ada", balance: 100 }));
    expect(wallet.version).toBe(1);
    wallet.balance = 120;
    const updates = (await db.log.capture(() => wallets().save(wallet))).filter((sql) => /^UPDATE/i.test(sql));
    expect(updates).toHaveLength(1);
    expect(updates[0]).toMatch(/WHERE .*[`"]id[`"] .* AND .*[`"]version[`"] = /i);
    expect(wallet.version).toBe(2);
    expect(await wallets().findOneByOrFail({ id: wallet.id })).toMatchObject({ balance: 120, version: 2 });
  });

  it("refuses a stale save and a stale remove, writing nothing", async () => {
    const { id } = await wallets().save(wallets().create({ owner: "bob", balance: 10 }));
    const alice = await wallets().findOneByOrFail({ id });
    const bob = await wallets().findOneByOrFail({ id });
    alice.balance = 20;
    await wallets().save(alice);
    bob.balance = 30;
    await expect(wallets().save(bob)).rejects.toMatchObject({
      name: "StaleDataError",
      entityName: "schema_wallet",
      expectedVersion: 1,
      actualVersion: 2,
    });
    await expect(wallets().remove(bob)).rejects.toBeInstanceOf(StaleDataError);
    expect(await wallets().findOneByOrFail({ id })).toMatchObject({ balance: 20, version: 2 });
  });

  it("moves the aggregate root when only a member changed, so a stale copy of the root is refused", async () => {
    const created = await baskets().save(
      baskets().create({
        customer: "ada",
        items: [
          { product: "p1", quantity: 1 },
          { product: "p2", quantity: 1 },
        ],
      }),
    );
    const alice = await loadBasket(created.id);
    const bob = await loadBasket(created.id);
    alice.items[0].quantity = 2;
    await baskets().save(alice);
    expect(alice.version).toBe(2);
    expect((await loadBasket(created.id)).version).toBe(2);

    bob.items[1].quantity = 5; // another member than Alice's: a plain TypeORM would write it
    await expect(baskets().save(bob)).rejects.toMatchObject({
      name: "StaleDataError",
      entityName: "schema_basket",
      expectedVersion: 1,
      actualVersion: 2,
    });
    expect((await loadBasket(created.id)).items.map((item) => item.quantity)).toEqual([2, 1]);
  });

  it("moves the root when a member declared with aggregateMember is saved", async () => {
    const basket: Basket = await baskets().save(baskets().create({ customer: "bob", items: [] }));
    await db.dataSource.getRepository(DeliverySchema).save({ address: "1 Main St", basket: { id: basket.id } });
    expect((await baskets().findOneByOrFail({ id: basket.id })).version).toBe(2);
  });

  it("keys a schema with a target class by that class", async () => {
    // TypeORM names such an entity after its class and finds its repository by the class.
    const notes = db.dataSource.getRepository(Note);
    const created = await notes.save(notes.create({ text: "first" }));
    expect(created).toBeInstanceOf(Note);
    expect(created.revision).toBe(1);
    const stale = await notes.findOneByOrFail({ id: created.id });
    created.text = "second";
    await notes.save(created);
    stale.text = "lost";
    await expect(notes.save(stale)).rejects.toMatchObject({ name: "StaleDataError", entityName: "Note" });
    expect(await notes.findOneByOrFail({ id: created.id })).toMatchObject({ text: "second", revision: 2 });
  });
});

describe("occSchema() declarations the DataSource rejects at initialize()", () => {
  const schema = (name: string, columns: Record<string, object>, relations?: Record<string, object>) =>
    new EntitySchema<any>({ name, columns: { id: { type: "integer", primary: true, generated: true }, ...columns }, relations } as never);

  class HandDecorated {
    id!: number;
    version!: number;
  }
  // What an EntitySchema user tried before occSchema(): TypeORM builds the entity from the schema and ignores it.
  VersionColumn()(HandDecorated.prototype, "version");

  const cases: [string, EntitySchema<any>[], RegExp][] = [
    [
      "an aggregate root without a version column",
      [occSchema(schema("bad_root", {}), { aggregateRoot: true })],
      /bad_root: occSchema\(schema, \{ aggregateRoot: true \}\) needs a version column/,
    ],
    [
      "a non-integer version column",
      [occSchema(schema("bad_text", { version: { type: "varchar" } }), { versionColumn: "version" })],
      /bad_text: version column "version" must be an integer column, got type "varchar"/,
    ],
    [
      "a version column typed String",
      [occSchema(schema("bad_string", { version: { type: String } }), { versionColumn: "version" })],
      /bad_string: version column "version" must be declared as a number, not String/,
    ],
    [
      "a second version column",
      [
        occSchema(schema("bad_two", { version: { type: "integer" }, revision: { type: "integer", version: true } }), {
          versionColumn: "version",
        }),
      ],
      /bad_two: has more than one version column \(version, revision\); keep exactly one version column, the one occSchema\(\) names/,
    ],
    [
      "an entity without a primary key",
      [
        occSchema(new EntitySchema<any>({ name: "bad_no_key", columns: { name: { type: "varchar" }, version: { type: "integer" } } }), {
          versionColumn: "version",
        }),
      ],
      /bad_no_key: a versioned entity needs a primary key \(give a column primary: true\)/,
    ],
    [
      "an aggregateMember relation that does not lead to a parent",
      [
        occSchema(
          schema(
            "bad_parent",
            { version: { type: "integer" } },
            { children: { type: "one-to-many", target: "bad_child", inverseSide: "parent" } },
          ),
          {
            versionColumn: "version",
            aggregateRoot: true,
            aggregateMember: "children",
          },
        ),
        schema("bad_child", {}, { parent: { type: "many-to-one", target: "bad_parent", inverseSide: "children" } }),
      ],
      /bad_parent: .*"children" must decorate a many-to-one or owning one-to-one relation/,
    ],
    [
      "@VersionColumn() applied by hand to a schema's target class",
      [
        new EntitySchema<HandDecorated>({
          name: "hand_decorated",
          target: HandDecorated,
          columns: { id: { type: "integer", primary: true, generated: true }, version: { type: "integer" } },
        }),
      ],
      /HandDecorated: "version" is a column but not a version column: an EntitySchema ignores decorators, declare it with occSchema\(schema, \{ versionColumn: "version" \}\)/,
    ],
  ];

  describe.each(enabledDrivers({ mariadb: true }))("on %s", (driver) => {
    it.each(cases)("rejects %s", async (_, entities, message) => {
      const error = await createTestDatabase(driver, { entities }).then(
        async (db) => {
          await db.close();
          return undefined;
        },
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(EntityDefinitionError);
      expect((error as Error).message).toMatch(message);
    });
  });

  it("throws at once for names that are not the schema's columns or relations", () => {
    const wallet = schema("typo", { version: { type: "integer" } });
    expect(() => occSchema(wallet, { versionColumn: "verison" })).toThrow(
      new EntityDefinitionError("typo", 'occSchema versionColumn "verison" is not one of the schema\'s columns'),
    );
    expect(() => occSchema(wallet, { aggregateMember: "owner" })).toThrow(
      /typo: occSchema aggregateMember "owner" is not one of the schema's relations/,
    );
  });
});
