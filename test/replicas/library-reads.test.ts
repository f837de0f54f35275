import { Client } from "pg";
import { Column, Entity, MoreThanOrEqual, PrimaryGeneratedColumn, type DataSource } from "typeorm";
import { ConditionNotMetError, StaleDataError, VersionColumn, decrement, updateIf, updateVersioned } from "typeorm-occ";
import { createReplicatedDatabase, describeWithReplicas, type ReplicatedDatabase } from "../support/replicas";

@Entity()
class ReplicaWallet {
  @PrimaryGeneratedColumn() id!: number;
  @Column("integer") balance!: number;
  @VersionColumn() version!: number;
}

const ROUNDS = 20;

/**
 * The replica lags the primary (the suite starts it with recovery_min_apply_delay = 1 s): a read
 * typeorm-occ made on a replica would miss the rows written a moment before. Each read it makes
 * to decide or to report must come from the primary.
 */
describeWithReplicas("typeorm-occ's own reads on a replicated DataSource", () => {
  let db: ReplicatedDatabase;
  let primary: Client;
  let wallets: ReturnType<DataSource["getRepository"]>;
  beforeAll(async () => {
    db = await createReplicatedDatabase([ReplicaWallet]);
    wallets = db.dataSource.getRepository(ReplicaWallet);
    primary = new Client({ connectionString: db.primaryUrl });
    await primary.connect();
  });
  afterAll(async () => {
    await primary?.end();
    await db?.close();
  });

  it(`updateIf's rowExists is right next to inserts and deletes (${ROUNDS} rounds each)`, async () => {
    const answers: Array<boolean | null> = [];
    for (let round = 0; round < ROUNDS; round++) {
      const { id } = await wallets.save({ balance: 10 });
      const inserted = await updateIf(wallets, { id, balance: MoreThanOrEqual(100) }, { balance: decrement(100) }).catch(
        (error: unknown) => error,
      );
      expect(inserted).toBeInstanceOf(ConditionNotMetError);
      answers.push((inserted as ConditionNotMetError).rowExists);
      await wallets.delete({ id });
      const deleted = await updateIf(wallets, { id, balance: MoreThanOrEqual(0) }, { balance: decrement(1) }).catch(
        (error: unknown) => error,
      );
      answers.push((deleted as ConditionNotMetError).rowExists);
    }
    expect(answers).toEqual(Array.from({ length: ROUNDS * 2 }, (_, n) => n % 2 === 0));
  });

  it("a stale save reports the primary's version as actualVersion", async () => {
    const { id } = await wallets.save({ balance: 10 });
    const copy = await wallets.findOneByOrFail({ id }).catch(() => null); // the replica may not have it yet
    const stale = Object.assign(new ReplicaWallet(), { id, balance: 11, version: 1 });
    await primary.query("UPDATE replica_wallet SET version = 7 WHERE id = $1", [id]);
    const error = await wallets.save(stale).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StaleDataError);
    expect(error).toMatchObject({ expectedVersion: 1, actualVersion: 7 });
    expect(copy === null || copy.version === 1).toBe(true);
  });

  it("updateVersioned's failure reports the primary's version", async () => {
    const { id } = await wallets.save({ balance: 10 });
    await primary.query("UPDATE replica_wallet SET version = 4 WHERE id = $1", [id]);
    const error = await updateVersioned(wallets, { id, version: 1 }, { balance: 5 }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: "StaleDataError", expectedVersion: 1, actualVersion: 4 });
  });

  it("a row deleted and inserted again holds a lower version than expected, and the message says so", async () => {
    const { id } = await wallets.save({ balance: 10 });
    await primary.query("UPDATE replica_wallet SET version = 5 WHERE id = $1", [id]);
    await primary.query("DELETE FROM replica_wallet WHERE id = $1", [id]);
    await primary.query("INSERT INTO replica_wallet (id, balance, version) VALUES ($1, 0, 1)", [id]);
    const error = (await wallets
      .save(Object.assign(new ReplicaWallet(), { id, balance: 20, version: 5 }))
      .catch((caught: unknown) => caught)) as StaleDataError;
    expect(error).toMatchObject({ name: "StaleDataError", expectedVersion: 5, actualVersion: 1 });
    expect(error.message).toBe(
      `ReplicaWallet#${id} is stale: expected version 5, found 1 (update); the row holds a lower version than expected: it was deleted and inserted again, or version 5 never came from this row`,
    );
  });
});
