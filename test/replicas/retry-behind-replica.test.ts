import { Column, Entity, PrimaryGeneratedColumn, type DataSource } from "typeorm";
import { VersionColumn, withAdvisoryLock, withOptimisticRetry } from "typeorm-occ";
import { createReplicatedDatabase, describeWithReplicas, type ReplicatedDatabase } from "../support/replicas";

@Entity()
class HotCounter {
  @PrimaryGeneratedColumn() id!: number;
  @Column("integer") value!: number;
  @VersionColumn() version!: number;
}

const WORKERS = 8;
const PER_WORKER = 12;

/**
 * Loops that read through the application's global repository, as the HTTP and Nest examples do,
 * with the replica a second behind: a reload from the replica would see the row before the
 * conflict's winner, fail again, and give up; an increment read from the replica inside a lock
 * would be lost. Each worker has a DataSource of its own (like separate processes).
 */
describeWithReplicas("read-check-write loops through a global repository, replica 1 s behind", () => {
  let db: ReplicatedDatabase;
  let workers: DataSource[];
  beforeAll(async () => {
    db = await createReplicatedDatabase([HotCounter], { poolSize: 3 });
    workers = await Promise.all(Array.from({ length: WORKERS }, () => db.open({ poolSize: 3 })));
  });
  afterAll(async () => db?.close());

  const hotRow = async () => (await db.dataSource.getRepository(HotCounter).save({ value: 0 })).id;
  const final = (id: number) => db.dataSource.transaction((manager) => manager.findOneByOrFail(HotCounter, { id }));

  it.each([
    ["without dataSource", false],
    ["with dataSource", true],
  ])(
    `withOptimisticRetry %s: ${WORKERS} workers × ${PER_WORKER} increments of one row, none gives up, none lost`,
    async (_, withDataSource) => {
      const id = await hotRow();
      let gaveUp = 0;
      await Promise.all(
        workers.map(async (source) => {
          const counters = source.getRepository(HotCounter);
          const increment = async () => {
            const counter = await counters.findOneByOrFail({ id });
            counter.value += 1;
            await counters.save(counter);
          };
          for (let n = 0; n < PER_WORKER; n++) {
            await (
              withDataSource ? withOptimisticRetry(() => increment(), { dataSource: source }) : withOptimisticRetry(() => increment())
            ).catch(() => gaveUp++);
          }
        }),
      );
      expect(gaveUp).toBe(0);
      expect(await final(id)).toMatchObject({ value: WORKERS * PER_WORKER, version: WORKERS * PER_WORKER + 1 });
    },
  );

  it(`withAdvisoryLock: ${WORKERS} workers read and save through their global repository, no increment lost`, async () => {
    const id = await hotRow();
    await Promise.all(
      workers.map(async (source) => {
        const counters = source.getRepository(HotCounter);
        for (let n = 0; n < PER_WORKER; n++) {
          await withAdvisoryLock(source, `counter:${id}`, async () => {
            const counter = await counters.findOneByOrFail({ id });
            counter.value += 1;
            await counters.save(counter);
          });
        }
      }),
    );
    expect(await final(id)).toMatchObject({ value: WORKERS * PER_WORKER });
  });
});
