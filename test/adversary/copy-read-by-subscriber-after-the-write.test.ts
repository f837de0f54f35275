import { Column, Entity, EventSubscriber, PrimaryGeneratedColumn, type EntitySubscriberInterface, type UpdateEvent } from "typeorm";
import { VersionColumn } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { eachDriver } from "../support/each-driver";

@Entity()
class Gadget {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") name!: string;
  @Column("integer") stock!: number;
  @VersionColumn() version!: number;
}

/** Keeps a fresh copy of every updated gadget, read through the save's own transaction after its UPDATE. */
const snapshots: Gadget[] = [];
@EventSubscriber()
class Snapshotter implements EntitySubscriberInterface<Gadget> {
  listenTo() {
    return Gadget;
  }
  async afterUpdate(event: UpdateEvent<Gadget>) {
    snapshots.push(await event.manager.findOneByOrFail(Gadget, { id: (event.entity as Gadget).id }));
  }
}

/**
 * Adversary finding (a FALSE CONFLICT): a copy read inside the transaction AFTER its own write — by
 * an afterUpdate subscriber, through `event.manager` — shows that write (stock 2, version 2), yet its
 * later save in the same transaction is refused: "StaleDataError: Gadget#1 is stale: expected version
 * 2, found 2: the copy was read before this transaction's own write to that row".
 * The unit's writes are recorded (copies/unit-writes.ts, recordUnitWrites) only after TypeORM's whole
 * unit of work, after-events included, with a tick taken then; a copy read during those events gets
 * an earlier tick than the write it shows. (The mirror image of subscriber-write-inside-save.test.ts.)
 * A correct library orders the unit's writes at their statements (take the tick when the UPDATE
 * returns, before the after-events), so a copy read after them passes.
 */
eachDriver(undefined, { mariadb: true })("a copy read by a subscriber after the save's write on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: [Gadget] });
    db.dataSource.subscribers.push(new Snapshotter());
  });
  afterAll(async () => db?.close());

  it("is accepted later in the same transaction", async () => {
    const gadgets = db.dataSource.getRepository(Gadget);
    const { id } = await gadgets.save(gadgets.create({ name: "g", stock: 1 }));
    snapshots.length = 0;
    await db.dataSource.transaction(async (manager) => {
      const gadget = await manager.findOneByOrFail(Gadget, { id });
      gadget.stock = 2;
      await manager.save(gadget);
      const fresh = snapshots[0];
      expect(fresh).toMatchObject({ stock: 2, version: 2 });
      fresh.name = "h";
      await manager.save(fresh);
    });
    expect(await gadgets.findOneByOrFail({ id })).toMatchObject({ name: "h", stock: 2, version: 2 });
  });
});
