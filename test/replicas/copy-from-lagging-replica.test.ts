import { Column, Entity, OneToMany, ManyToOne, PrimaryGeneratedColumn } from "typeorm";
import { AggregateRoot, StaleDataError, VersionColumn } from "typeorm-occ";
import { createReplicatedDatabase, describeWithReplicas, type ReplicatedDatabase } from "../support/replicas";

@Entity()
class LaggingWallet {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") owner!: string;
  @Column("integer") balance!: number;
  @VersionColumn() version!: number;
}

@AggregateRoot()
@Entity()
class LaggingBasket {
  @PrimaryGeneratedColumn() id!: number;
  @VersionColumn() version!: number;
  @OneToMany(() => LaggingItem, (item) => item.basket, { cascade: true })
  items!: LaggingItem[];
}

@Entity()
class LaggingItem {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") sku!: string;
  @ManyToOne(() => LaggingBasket, (basket) => basket.items, { orphanedRowAction: "delete", onDelete: "CASCADE" })
  basket!: LaggingBasket;
}

/**
 * Issue 14, section 2, behind a real replica (1 s behind the primary): README's HTTP idiom — load
 * the row, set its version from If-Match, save — loaded the replica's older row and wrote its fields
 * under the primary's newer version (10 of 10 times). The copy knows it was read at the older
 * version: StaleDataError, and the primary keeps the other write (the line added meanwhile too).
 */
describeWithReplicas("a copy read from a lagging replica, given the primary's version", () => {
  let db: ReplicatedDatabase;
  beforeAll(async () => {
    db = await createReplicatedDatabase([LaggingWallet, LaggingBasket, LaggingItem]);
  });
  afterAll(async () => db?.close());

  it("is refused, naming the version it was read at", async () => {
    const wallets = db.dataSource.getRepository(LaggingWallet);
    const { id } = await wallets.save(wallets.create({ owner: "ada", balance: 100 }));
    await db.waitForReplica();
    // Another request wrote on the primary; its ETag (version 2) went to the client.
    await db.dataSource.transaction((manager) => manager.update(LaggingWallet, { id }, { balance: 50 }));
    const copy = await wallets.findOneByOrFail({ id }); // outside a transaction: the replica
    expect(copy).toMatchObject({ balance: 100, version: 1 }); // the replica is behind
    copy.version = 2; // If-Match: "2"
    copy.owner = "grace";
    const error = await wallets.save(copy).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StaleDataError);
    expect(error).toMatchObject({ readVersion: 1, expectedVersion: 2, actualVersion: 2 });
    await db.waitForReplica();
    expect(await db.dataSource.manager.transaction((manager) => manager.findOneByOrFail(LaggingWallet, { id }))).toMatchObject({
      owner: "ada",
      balance: 50,
      version: 2,
    });
  });

  it("keeps an item added meanwhile when the aggregate copy came from the replica", async () => {
    const baskets = db.dataSource.getRepository(LaggingBasket);
    const { id } = await baskets.save(baskets.create({ items: [{ sku: "a" }] }));
    await db.waitForReplica();
    await db.dataSource.transaction(async (manager) => {
      const basket = await manager.findOneOrFail(LaggingBasket, { where: { id }, relations: { items: true } });
      basket.items.push(manager.create(LaggingItem, { sku: "b" }));
      await manager.save(basket);
    });
    const copy = await baskets.findOneOrFail({ where: { id }, relations: { items: true } }); // the replica
    expect(copy.items).toHaveLength(1);
    copy.version = 2;
    await expect(baskets.save(copy)).rejects.toMatchObject({ name: "StaleDataError", readVersion: 1 });
    const stored = await db.dataSource.manager.transaction((manager) =>
      manager.findOneOrFail(LaggingBasket, { where: { id }, relations: { items: true } }),
    );
    expect(stored.items.map((item) => item.sku).sort()).toEqual(["a", "b"]);
  });
});
