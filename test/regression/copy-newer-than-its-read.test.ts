import { Column, DeleteDateColumn, Entity, PrimaryGeneratedColumn } from "typeorm";
import { StaleDataError, VersionColumn } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { eachDriver } from "../support/each-driver";
import { Order } from "../support/entities/aggregate";
import { Account, writeEntities } from "../writes/support/entities";

@Entity()
class Memo {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") text!: string;
  @DeleteDateColumn() deletedAt!: Date | null;
  @VersionColumn() version!: number;
}

/**
 * Issue 14, section 2: README's HTTP idiom (load the row, set its version from If-Match, save)
 * silently undid the previous write whenever the loaded data was older than the version the client
 * sent — behind a lagging replica, from a cache, or given a newer If-Match. A copy TypeORM read at
 * version N that carries a newer version is stale: nothing is written, and the error says N.
 */
eachDriver(undefined, { mariadb: true })("a copy carrying a newer version than it was read at on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: [...writeEntities, Memo] });
  });
  afterAll(async () => db?.close());

  const accounts = () => db.dataSource.getRepository(Account);
  const orders = () => db.dataSource.getRepository(Order);
  const memos = () => db.dataSource.getRepository(Memo);
  /** A copy read at version 1, and the row moved to version 2 by another writer since. */
  async function copyOlderThanRow(): Promise<Account> {
    const { id } = await accounts().save(accounts().create({ owner: "ada", balance: 100 }));
    const copy = await accounts().findOneByOrFail({ id });
    const other = await accounts().findOneByOrFail({ id });
    other.balance = 50;
    await accounts().save(other);
    return copy;
  }

  it("refuses save() of a copy read at 1 given version 2, names the read, and keeps the other write", async () => {
    const copy = await copyOlderThanRow();
    copy.version = 2; // from the client's If-Match
    copy.owner = "grace";
    const error = await accounts()
      .save(copy)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StaleDataError);
    expect(error).toMatchObject({ expectedVersion: 2, actualVersion: 2, readVersion: 1, operation: "update" });
    expect((error as Error).message).toMatch(/read at version 1/);
    expect(await accounts().findOneByOrFail({ id: copy.id })).toMatchObject({ balance: 50, owner: "ada", version: 2 });
  });

  it("refuses it inside a transaction, and with transaction: false", async () => {
    const copy = await copyOlderThanRow();
    copy.version = 2;
    copy.owner = "grace";
    await expect(db.dataSource.transaction((manager) => manager.save(copy))).rejects.toBeInstanceOf(StaleDataError);
    await expect(accounts().save(copy, { transaction: false })).rejects.toBeInstanceOf(StaleDataError);
    expect(await accounts().findOneByOrFail({ id: copy.id })).toMatchObject({ balance: 50, owner: "ada" });
  });

  it("refuses remove() of such a copy", async () => {
    const copy = await copyOlderThanRow();
    copy.version = 2;
    await expect(accounts().remove(copy)).rejects.toMatchObject({ name: "StaleDataError", readVersion: 1, operation: "delete" });
    expect(await accounts().findOneBy({ id: copy.id })).not.toBeNull();
  });

  it("refuses softRemove() and recover() of such a copy", async () => {
    const { id } = await memos().save(memos().create({ text: "a" }));
    const copy = await memos().findOneByOrFail({ id });
    await memos().save(Object.assign(await memos().findOneByOrFail({ id }), { text: "b" }));
    copy.version = 2;
    await expect(memos().softRemove(copy)).rejects.toMatchObject({ name: "StaleDataError", readVersion: 1 });
    const fresh = await memos().findOneByOrFail({ id });
    await memos().softRemove(fresh);
    const removed = await memos().findOneOrFail({ where: { id }, withDeleted: true });
    await memos().save(Object.assign(await memos().findOneOrFail({ where: { id }, withDeleted: true }), { text: "c" }));
    removed.version = 4;
    await expect(memos().recover(removed)).rejects.toMatchObject({ name: "StaleDataError", readVersion: 3 });
    expect(await memos().findOneOrFail({ where: { id }, withDeleted: true })).toMatchObject({ text: "c", version: 4 });
  });

  it("refuses an aggregate copy given a newer version: a line added meanwhile is not orphaned", async () => {
    const { id } = await orders().save(orders().create({ customer: "ada", lines: [{ product: "a", quantity: 1, notes: [] }] }));
    const copy = await orders().findOneOrFail({ where: { id }, relations: { lines: true } });
    const other = await orders().findOneOrFail({ where: { id }, relations: { lines: true } });
    other.lines.push(
      Object.assign(new (other.lines[0].constructor as new () => (typeof other.lines)[number])(), { product: "b", quantity: 2, notes: [] }),
    );
    await orders().save(other);
    copy.version = 2;
    copy.lines[0].quantity = 7;
    await expect(orders().save(copy)).rejects.toMatchObject({ name: "StaleDataError", entityName: "Order", readVersion: 1 });
    const stored = await orders().findOneOrFail({ where: { id }, relations: { lines: true }, order: { lines: { id: "ASC" } } });
    expect(stored.lines.map((line) => [line.product, line.quantity])).toEqual([
      ["a", 1],
      ["b", 2],
    ]);
  });

  it("keeps today's rule for objects built by hand, and for a loaded copy given the version it was read at", async () => {
    const copy = await copyOlderThanRow();
    await accounts().save(accounts().create({ id: copy.id, owner: "grace", version: 2 }));
    const fresh = await accounts().findOneByOrFail({ id: copy.id });
    fresh.version = 3;
    fresh.balance = 1;
    await accounts().save(fresh);
    expect(await accounts().findOneByOrFail({ id: copy.id })).toMatchObject({ owner: "grace", balance: 1, version: 4 });
  });

  it("follows the copy's own saves: a saved copy claims the version it wrote", async () => {
    const { id } = await accounts().save(accounts().create({ owner: "ada", balance: 100 }));
    const copy = await accounts().findOneByOrFail({ id });
    copy.balance = 1;
    await accounts().save(copy);
    copy.balance = 2;
    await accounts().save(copy);
    expect(await accounts().findOneByOrFail({ id })).toMatchObject({ balance: 2, version: 3 });
  });
});
