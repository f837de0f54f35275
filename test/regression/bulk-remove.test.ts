import {
  Column,
  Entity,
  EventSubscriber,
  PrimaryColumn,
  PrimaryGeneratedColumn,
  type DataSource,
  type EntitySubscriberInterface,
} from "typeorm";
import { StaleDataError, VersionColumn } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { eachDriver } from "../support/each-driver";

@Entity()
class BulkDoc {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") title!: string;
  @VersionColumn() version!: number;
}

@Entity()
class BulkStock {
  @PrimaryColumn("varchar") tenant!: string;
  @PrimaryColumn("integer") sku!: number;
  @Column("integer") quantity!: number;
  @VersionColumn() version!: number;
}

/** Runs `interleave` once, when the next remove() has loaded its rows and is about to DELETE them. */
@EventSubscriber()
class BeforeDelete implements EntitySubscriberInterface {
  static interleave: (() => Promise<void>) | undefined;
  async beforeRemove(): Promise<void> {
    const work = BeforeDelete.interleave;
    BeforeDelete.interleave = undefined;
    await work?.();
  }
}

/**
 * remove(rows) of many rows: one version-checked DELETE per entity where the database's limits
 * allow (the `(pk AND version) OR …` chain it replaced was slow on PostgreSQL and refused by SQLite
 * past 1,000 rows: "Expression tree is too large"), and the stale row named among many: not one the
 * DELETE itself removed.
 */
eachDriver(() => true, { mariadb: true })("remove() of many versioned rows on %s", (driver) => {
  let db: TestDatabase;
  let source: DataSource;
  let other: DataSource;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: [BulkDoc, BulkStock] });
    source = await db.open({ subscribers: [BeforeDelete] });
    other = await db.open();
  });
  afterAll(async () => db?.close());
  afterEach(() => void (BeforeDelete.interleave = undefined));

  async function docsAtSeveralVersions(count: number): Promise<BulkDoc[]> {
    const docs = source.getRepository(BulkDoc);
    const saved: BulkDoc[] = [];
    for (let start = 0; start < count; start += 1000) {
      saved.push(
        ...(await docs.save(Array.from({ length: Math.min(1000, count - start) }, (_, n) => docs.create({ title: `doc ${start + n}` })))),
      );
    }
    await docs.save(saved.filter((_, n) => n % 25 === 0).map((doc) => Object.assign(doc, { title: `${doc.title}, edited` })));
    return docs.find({ order: { id: "ASC" } });
  }

  it("removes 2,000 rows at two versions with one DELETE", async () => {
    const rows = await docsAtSeveralVersions(2000);
    expect(new Set(rows.map((row) => row.version))).toEqual(new Set([1, 2]));
    const sent = await db.log.capture(async () => {
      const logged = await db.open({ logging: ["query"], logger: db.log } as object);
      await logged.getRepository(BulkDoc).remove(rows);
      await logged.destroy();
    });
    expect(sent.filter((sql) => /^\s*DELETE/i.test(sql))).toHaveLength(1);
    expect(await source.getRepository(BulkDoc).count()).toBe(0);
  });

  it("names the one row another connection changed between the load and the DELETE, and removes none", async () => {
    const rows = await docsAtSeveralVersions(1500);
    const target = rows[1250];
    BeforeDelete.interleave = async () => void (await other.getRepository(BulkDoc).save({ ...target, title: "changed meanwhile" }));
    const error = await source
      .getRepository(BulkDoc)
      .remove(rows)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StaleDataError);
    expect(error).toMatchObject({
      operation: "delete",
      primaryKey: { id: target.id },
      expectedVersion: target.version,
      actualVersion: target.version + 1,
    });
    expect(await source.getRepository(BulkDoc).count()).toBe(1500);
    await source.getRepository(BulkDoc).clear();
  });

  // 900 rows: TypeORM's own load of composite keys (an OR chain) is refused by SQLite past about 990.
  it("composite keys: 900 rows in DELETEs of at most 500 rows, a stale row in the last one named", async () => {
    const stock = source.getRepository(BulkStock);
    const rows = await stock.save(Array.from({ length: 900 }, (_, sku) => stock.create({ tenant: "acme", sku, quantity: 1 })));
    const target = rows[850];
    BeforeDelete.interleave = async () => void (await other.getRepository(BulkStock).save({ ...target, quantity: 2 }));
    const error = await stock.remove(rows).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "StaleDataError", primaryKey: { tenant: "acme", sku: 850 }, expectedVersion: 1, actualVersion: 2 });
    expect(await stock.count()).toBe(900);

    const fresh = await stock.find();
    const sent = await db.log.capture(async () => {
      const logged = await db.open({ logging: ["query"], logger: db.log } as object);
      await logged.getRepository(BulkStock).remove(fresh);
      await logged.destroy();
    });
    expect(sent.filter((sql) => /^\s*DELETE/i.test(sql))).toHaveLength(2);
    expect(await stock.count()).toBe(0);
  });
});
