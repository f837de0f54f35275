import { Column, Entity, PrimaryGeneratedColumn, type DataSource, type DataSourceOptions } from "typeorm";
import { VersionColumn, isDeadlock, isRetryableConflict, withOptimisticRetry } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { eachDriver } from "../support/each-driver";

@Entity()
class TransferAccount {
  @PrimaryGeneratedColumn() id!: number;
  @Column("integer") balance!: number;
  @VersionColumn() version!: number;
}

const ACCOUNTS = 3;
const WORKERS = 4;
const TRANSFERS_PER_WORKER = 30;

/**
 * Transfers between a few accounts, each in one transaction that saves the payer first: two
 * transfers in opposite directions lock the same rows in opposite orders, so the databases with
 * row locks break deadlocks, besides the version conflicts every database reports.
 */
eachDriver((driver) => driver !== "sqlite", { mariadb: true })(
  "withOptimisticRetry completes every concurrent transfer on %s",
  (driver) => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createTestDatabase(driver, { entities: [TransferAccount] });
    });
    afterAll(async () => db?.close());

    it(`${WORKERS} workers × ${TRANSFERS_PER_WORKER} transfers: none gives up, no money appears or vanishes`, async () => {
      const accounts = await db.dataSource.getRepository(TransferAccount).save(Array.from({ length: ACCOUNTS }, () => ({ balance: 1000 })));
      const ids = accounts.map((account) => account.id);
      // One pool per worker, like separate processes. PostgreSQL looks for a deadlock only after a lock
      // wait of deadlock_timeout (1 s by default): shortened, so the run takes seconds, not half a minute.
      const extra = driver === "postgres" ? ({ extra: { options: "-c deadlock_timeout=50ms" } } as Partial<DataSourceOptions>) : {};
      const sources: DataSource[] = await Promise.all(Array.from({ length: WORKERS }, () => db.open(extra)));
      const retryOn = isRetryableConflict; // the default, named for the assertion below
      const retried: unknown[] = [];
      const failed: unknown[] = [];
      const expected = new Map(ids.map((id) => [id, { balance: 1000, writes: 0 }]));
      let seed = 17;
      const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;

      const started = Date.now();
      await Promise.all(
        sources.map(async (source) => {
          for (let n = 0; n < TRANSFERS_PER_WORKER; n++) {
            const from = ids[Math.floor(random() * ACCOUNTS)];
            const to = ids[(ids.indexOf(from) + 1 + Math.floor(random() * (ACCOUNTS - 1))) % ACCOUNTS];
            const amount = 1 + Math.floor(random() * 50);
            try {
              await withOptimisticRetry(
                async (manager) => {
                  const payer = await manager.findOneByOrFail(TransferAccount, { id: from });
                  const payee = await manager.findOneByOrFail(TransferAccount, { id: to });
                  payer.balance -= amount;
                  payee.balance += amount;
                  await manager.save(payer);
                  await manager.save(payee);
                },
                { dataSource: source, retries: 100, baseDelayMs: 1, maxDelayMs: 20, retryOn, onRetry: (error) => retried.push(error) },
              );
              expected.get(from)!.balance -= amount;
              expected.get(to)!.balance += amount;
              expected.get(from)!.writes++;
              expected.get(to)!.writes++;
            } catch (error) {
              failed.push(error);
            }
          }
        }),
      );
      await Promise.all(sources.map((source) => source.destroy()));

      expect(failed).toEqual([]);
      expect(retried.filter((error) => !retryOn(error))).toEqual([]);
      const final = await db.dataSource.getRepository(TransferAccount).find({ order: { id: "ASC" } });
      expect(final).toEqual(ids.map((id) => ({ id, balance: expected.get(id)!.balance, version: 1 + expected.get(id)!.writes })));
      expect(final.reduce((sum, account) => sum + account.balance, 0)).toBe(ACCOUNTS * 1000);
      console.log(
        `[${driver}] ${Date.now() - started} ms, ${WORKERS * TRANSFERS_PER_WORKER} transfers, ${retried.length} retried attempts, ${retried.filter(isDeadlock).length} deadlocks`,
      );
    });
  },
);
