import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn, QueryFailedError, type DataSource, type DataSourceOptions } from "typeorm";
import {
  InvalidArgumentError,
  StaleDataError,
  VersionColumn,
  isRetryableConflict,
  isSerializationFailure,
  isSqliteBusy,
  withOptimisticRetry,
} from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";

@Entity()
class RetryCounter {
  @PrimaryGeneratedColumn() id!: number;
  @Column("integer") value!: number;
  @VersionColumn() version!: number;
}

/** Not versioned: for the serialization-failure test, which is about the database, not typeorm-occ. */
@Entity()
class PlainRow {
  @PrimaryColumn("integer") id!: number;
  @Column("integer") value!: number;
}

const entities = [RetryCounter, PlainRow];

/** The test's clock starts a moment before withOptimisticRetry's own: at most a millisecond or two. */
const CLOCK_SLACK_MS = 5;

describe.each(enabledDrivers({ mariadb: true }))("withOptimisticRetry on %s", (driver) => {
  let db: TestDatabase;
  let other: DataSource;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities });
    other = await db.open(); // a second pool / connection, like a second application process
  });
  afterAll(async () => db?.close());

  const counters = (source: DataSource = db.dataSource) => source.getRepository(RetryCounter);
  /** One attempt that always conflicts: the other connection writes between this read and this save. */
  async function saveAfterAnotherWriter(id: number): Promise<void> {
    const counter = await counters().findOneByOrFail({ id });
    await counters(other).save({ ...(await counters(other).findOneByOrFail({ id })), value: counter.value + 10 });
    counter.value += 1;
    await counters().save(counter);
  }
  const newCounter = () => counters().save(counters().create({ value: 0 }));

  it("loses no increment when many workers, each with its own connection, race on one row", async () => {
    const { id } = await newCounter();
    const workers = 8;
    // One DataSource per worker, like separate processes. (Workers sharing one better-sqlite3
    // DataSource would share TypeORM's single QueryRunner and so each other's transactions.)
    // better-sqlite3 waits for a busy lock synchronously, blocking this whole process (and so the
    // lock holder): fail fast instead (timeout 0) and let withOptimisticRetry back off and retry.
    const extra = driver === "sqlite" ? ({ timeout: 0 } as Partial<DataSourceOptions>) : {};
    const sources = await Promise.all(Array.from({ length: workers }, () => db.open(extra)));
    const perWorker = 5;
    // Every version conflict means another increment committed, so no increment can lose more than
    // workers * perWorker - 1 of them; SQLite's busy errors come on top, hence the headroom.
    const retries = workers * perWorker * 20;
    let acknowledged = 0;
    let conflicts = 0;

    await Promise.all(
      Array.from({ length: workers }, async (_, worker) => {
        const source = sources[worker];
        for (let i = 0; i < perWorker; i++) {
          await withOptimisticRetry(
            async () => {
              const counter = await counters(source).findOneByOrFail({ id });
              counter.value += 1;
              await counters(source).save(counter);
            },
            {
              retries,
              baseDelayMs: 1,
              maxDelayMs: 5,
              retryOn: (error) => isRetryableConflict(error) || isSqliteBusy(error),
              onRetry: () => void conflicts++,
            },
          );
          acknowledged++;
        }
      }),
    );

    await Promise.all(sources.map((source) => source.destroy()));
    const final = await counters().findOneByOrFail({ id });
    expect(acknowledged).toBe(workers * perWorker);
    expect(final.value).toBe(acknowledged);
    expect(final.version).toBe(acknowledged + 1);
    expect(conflicts).toBeGreaterThanOrEqual(0); // how many depends on scheduling; correctness does not
  });

  it("reruns the whole unit after a real lost race and passes the attempt number", async () => {
    const { id } = await newCounter();
    const attempts: number[] = [];
    const retried: unknown[] = [];
    const result = await withOptimisticRetry(
      async (attempt) => {
        attempts.push(attempt);
        const counter = await counters().findOneByOrFail({ id });
        if (attempt === 0) await counters(other).save({ ...(await counters(other).findOneByOrFail({ id })), value: 100 });
        counter.value += 1;
        await counters().save(counter);
        return counter.value;
      },
      { onRetry: (error) => retried.push(error) },
    );
    expect(attempts).toEqual([0, 1]);
    expect(retried).toHaveLength(1);
    expect(retried[0]).toBeInstanceOf(StaleDataError);
    expect(result).toBe(101);
    expect(await counters().findOneByOrFail({ id })).toMatchObject({ value: 101, version: 3 });
  });

  it("never retries other errors: a domain error and a real constraint violation are rethrown at once", async () => {
    const domain = new Error("insufficient funds");
    let calls = 0;
    await expect(
      withOptimisticRetry(async () => {
        calls++;
        throw domain;
      }),
    ).rejects.toBe(domain);
    expect(calls).toBe(1);

    await other.getRepository(PlainRow).insert({ id: 1, value: 1 });
    calls = 0;
    const error = await withOptimisticRetry(async () => {
      calls++;
      await db.dataSource.getRepository(PlainRow).insert({ id: 1, value: 2 }); // duplicate primary key
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueryFailedError);
    expect(isRetryableConflict(error)).toBe(false);
    expect(calls).toBe(1);
  });

  it("rethrows the last StaleDataError once the retries are used up", async () => {
    const { id } = await newCounter();
    const seenVersions: number[] = [];
    const error = await withOptimisticRetry(
      async () => {
        const counter = await counters().findOneByOrFail({ id });
        seenVersions.push(counter.version);
        // Somebody else always gets in between.
        await counters(other).save({ ...(await counters(other).findOneByOrFail({ id })), value: counter.value + 10 });
        counter.value += 1;
        await counters().save(counter);
      },
      { retries: 2, baseDelayMs: 0 },
    ).catch((e: unknown) => e);

    expect(seenVersions).toEqual([1, 2, 3]);
    expect(error).toBeInstanceOf(StaleDataError);
    expect(error).toMatchObject({ entityName: "RetryCounter", expectedVersion: 3, actualVersion: 4 });
    expect(await counters().findOneByOrFail({ id })).toMatchObject({ value: 30, version: 4 });
  });

  it("by default keeps retrying real conflicts past any fixed count, until the time budget is spent", async () => {
    const { id } = await newCounter();
    const interrupted = 8; // more than the former default of 3 retries
    const started = Date.now();
    const attempts = await withOptimisticRetry(async (attempt) => {
      const counter = await counters().findOneByOrFail({ id });
      if (attempt < interrupted)
        await counters(other).save({ ...(await counters(other).findOneByOrFail({ id })), value: counter.value + 10 });
      counter.value += 1;
      await counters().save(counter);
      return attempt;
    });
    expect(attempts).toBe(interrupted);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await counters().findOneByOrFail({ id })).toMatchObject({ value: interrupted * 10 + 1 });

    // A budget of 300 ms: no attempt starts after it, and the last conflict is rethrown.
    const began: number[] = [];
    const start = Date.now();
    const error = await withOptimisticRetry(
      async () => {
        began.push(Date.now() - start);
        await saveAfterAnotherWriter(id);
      },
      { timeBudgetMs: 300 },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StaleDataError);
    expect(began.length).toBeGreaterThan(1);
    expect(Math.max(...began)).toBeLessThan(300 + CLOCK_SLACK_MS);
  });

  it("starts no attempt after the time budget, even when a busy event loop fires the backoff timer late", async () => {
    const { id } = await newCounter();
    // Another part of the application hogs the event loop, so timers fire up to 60 ms late.
    const hog = setInterval(() => {
      const until = Date.now() + 60;
      while (Date.now() < until);
    }, 65);
    const began: number[] = [];
    const start = Date.now();
    try {
      const error = await withOptimisticRetry(
        async () => {
          began.push(Date.now() - start);
          await saveAfterAnotherWriter(id);
        },
        // Short backoffs: the last attempt is planned just before the budget, so a late timer would cross it.
        { timeBudgetMs: 300, baseDelayMs: 1, maxDelayMs: 10 },
      ).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StaleDataError);
    } finally {
      clearInterval(hog);
    }
    expect(began.length).toBeGreaterThan(1);
    expect(Math.max(...began)).toBeLessThan(300 + CLOCK_SLACK_MS);
  });

  it("refuses a budget that is not a number ≥ 0 and a retries count that is not a whole number", async () => {
    await expect(withOptimisticRetry(async () => 1, { timeBudgetMs: -1 })).rejects.toThrow(InvalidArgumentError);
    await expect(withOptimisticRetry(async () => 1, { retries: 1.5 })).rejects.toMatchObject({
      name: "InvalidArgumentError",
      code: "invalid-argument",
      operation: "withOptimisticRetry",
      message: "withOptimisticRetry: retries must be a non-negative integer, got 1.5",
    });
  });

  it("runs every attempt in a fresh transaction with { dataSource }", async () => {
    const { id } = await newCounter();
    const retried: unknown[] = [];
    const value = await withOptimisticRetry(
      async (manager, attempt) => {
        const counter = await manager.findOneByOrFail(RetryCounter, { id });
        // Another connection commits a change after our transaction has read the row.
        if (attempt === 0) await counters(other).save({ ...(await counters(other).findOneByOrFail({ id })), value: 5 });
        counter.value += 1;
        await manager.save(counter);
        return counter.value;
      },
      {
        dataSource: db.dataSource, // the default retryOn
        onRetry: (error) => retried.push(error),
      },
    );
    expect(value).toBe(6);
    expect(retried).toHaveLength(1);
    if (driver === "sqlite") {
      // SQLite (WAL) refuses to turn a read transaction whose snapshot is out of date into a
      // write one: SQLITE_BUSY_SNAPSHOT, before typeorm-occ's version check can even run. It is a
      // serialization failure, retried by default.
      expect(isSqliteBusy(retried[0])).toBe(true);
      expect(isSerializationFailure(retried[0])).toBe(true);
    } else {
      expect(retried[0]).toBeInstanceOf(StaleDataError);
    }
    expect(await counters().findOneByOrFail({ id })).toMatchObject({ value: 6, version: 3 });
  });

  const serializationFailure = {
    postgres: "SQLSTATE 40001",
    mariadb: "ER_CHECKREAD (1020, innodb_snapshot_isolation)",
    sqlite: "none (one writer at a time)",
  }[driver];
  (driver === "sqlite" ? it.skip : it)(`retries a real serialization failure under REPEATABLE READ: ${serializationFailure}`, async () => {
    const id = 40001;
    await db.dataSource.getRepository(PlainRow).insert({ id, value: 0 });
    // MariaDB refuses writes to rows changed after the snapshot only with innodb_snapshot_isolation
    // (the default from 11.8), a session setting: on a pool of its own.
    const source = driver === "mariadb" ? await db.open({ poolSize: 1 } as Partial<DataSourceOptions>) : db.dataSource;
    if (driver === "mariadb") await source.query("SET SESSION innodb_snapshot_isolation = ON");
    const attempts: number[] = [];
    const retried: unknown[] = [];
    await withOptimisticRetry(
      async (manager, attempt) => {
        attempts.push(attempt);
        // The first read fixes this transaction's snapshot.
        await manager.findOneByOrFail(PlainRow, { id });
        // Another transaction updates the same row and commits.
        if (attempt === 0) await other.query(`UPDATE plain_row SET value = value + 1 WHERE id = ${id}`);
        // Updating a row changed after our snapshot: the database refuses on the first attempt.
        await manager.query(`UPDATE plain_row SET value = value + 10 WHERE id = ${id}`);
      },
      { dataSource: source, isolationLevel: "REPEATABLE READ", onRetry: (error) => retried.push(error) },
    );
    if (source !== db.dataSource) await source.destroy();
    expect(attempts).toEqual([0, 1]);
    expect(retried).toHaveLength(1);
    expect(isSerializationFailure(retried[0])).toBe(true);
    expect((await db.dataSource.getRepository(PlainRow).findOneByOrFail({ id })).value).toBe(11);
  });
});
