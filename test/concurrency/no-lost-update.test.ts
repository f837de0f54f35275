import { spawn } from "node:child_process";
import type { DataSource, ObjectLiteral } from "typeorm";
import { StaleDataError, isStaleDataError } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { eachDriver } from "../support/each-driver";
import { OccCounter, PlainCounter, coreEntities } from "../support/entities/core";

type Counter = typeof OccCounter | typeof PlainCounter;

/**
 * `workers` concurrent read-modify-write loops, each on its own pooled connection, incrementing
 * one row `perWorker` times and retrying after StaleDataError. Returns the acknowledged count.
 */
async function hammer(dataSource: DataSource, entity: Counter, id: number, workers: number, perWorker: number) {
  let acknowledged = 0;
  let conflicts = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      for (let done = 0; done < perWorker;) {
        const repository = dataSource.getRepository<ObjectLiteral>(entity);
        const counter = await repository.findOneByOrFail({ id });
        await new Promise((resolve) => setImmediate(resolve)); // let other workers read the same version
        counter.value += 1;
        try {
          await repository.save(counter);
          acknowledged++;
          done++;
        } catch (error) {
          if (!(error instanceof StaleDataError)) throw error;
          conflicts++;
        }
      }
    }),
  );
  const final = (await dataSource.getRepository<ObjectLiteral>(entity).findOneByOrFail({ id })).value as number;
  return { acknowledged, conflicts, final };
}

eachDriver((driver) => driver !== "sqlite", { mariadb: true })("no lost update under real concurrency on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: coreEntities, poolSize: 10 });
  });
  afterAll(async () => db?.close());

  it("loses updates with TypeORM's own @VersionColumn (the control: the workload is contended)", async () => {
    const { id } = await db.dataSource.getRepository(PlainCounter).save({ value: 0 });
    const result = await hammer(db.dataSource, PlainCounter, id, 8, 15);
    expect(result.acknowledged).toBe(120);
    expect(result.final).toBeLessThan(result.acknowledged);
  });

  it("keeps every acknowledged increment with typeorm-occ (default isolation: READ COMMITTED on PostgreSQL; 8 workers, pool 10)", async () => {
    const { id } = await db.dataSource.getRepository(OccCounter).save({ value: 0 });
    const result = await hammer(db.dataSource, OccCounter, id, 8, 15);
    expect(result.acknowledged).toBe(120);
    expect(result.conflicts).toBeGreaterThan(0);
    expect(result.final).toBe(result.acknowledged);
  });
});

eachDriver((driver) => driver === "sqlite")("stale writes across connections on %s (WAL)", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: coreEntities });
  });
  afterAll(async () => db?.close());

  it("detects a write made through a second DataSource on the same file", async () => {
    const other = await db.open();
    const { id } = await db.dataSource.getRepository(OccCounter).save({ value: 0 });
    const mine = await db.dataSource.getRepository(OccCounter).findOneByOrFail({ id });
    const theirs = await other.getRepository(OccCounter).findOneByOrFail({ id });
    theirs.value = 5;
    await other.getRepository(OccCounter).save(theirs);
    mine.value = 1;
    await expect(db.dataSource.getRepository(OccCounter).save(mine)).rejects.toMatchObject({ name: "StaleDataError", actualVersion: 2 });
    expect((await other.getRepository(OccCounter).findOneByOrFail({ id })).value).toBe(5);
  });

  it("detects a write another process committed between our load and our save", async () => {
    const repository = db.dataSource.getRepository(OccCounter);
    const { id } = await repository.save({ value: 0 });
    const mine = await repository.findOneByOrFail({ id });
    const file = (db.dataSource.options as { database: string }).database;
    const other = spawn(
      process.execPath,
      [
        "-e",
        `const db = new (require("better-sqlite3"))(process.argv[1], { timeout: 10000 });
         db.prepare("UPDATE occ_counter SET value = value + 10, version = version + 1 WHERE id = ?").run(${id});`,
        file,
      ],
      { cwd: process.cwd(), stdio: "inherit" },
    );
    expect(await new Promise((resolve) => other.on("exit", resolve))).toBe(0);
    mine.value += 1;
    await expect(repository.save(mine)).rejects.toMatchObject({ name: "StaleDataError", expectedVersion: 1, actualVersion: 2 });
    expect(await repository.findOneByOrFail({ id })).toMatchObject({ value: 10, version: 2 });
  });

  it("loses nothing while another process increments the same row with version-checked SQL", async () => {
    const { id } = await db.dataSource.getRepository(OccCounter).save({ value: 0 });
    const file = (db.dataSource.options as { database: string }).database;
    const childIncrements = 200;
    // The other process: raw better-sqlite3, the same version-checked statement, retrying when stale.
    const childSource = `
      const Database = require("better-sqlite3");
      const db = new Database(process.argv[1], { timeout: 10000 });
      db.pragma("journal_mode = WAL");
      const read = db.prepare("SELECT value, version FROM occ_counter WHERE id = ?");
      const write = db.prepare("UPDATE occ_counter SET value = ?, version = ? WHERE id = ? AND version = ?");
      let acknowledged = 0;
      while (acknowledged < ${childIncrements}) {
        const row = read.get(${id});
        if (write.run(row.value + 1, row.version + 1, ${id}, row.version).changes === 1) acknowledged++;
      }
      process.stdout.write(String(acknowledged));
    `;
    const child = spawn(process.execPath, ["-e", childSource, file], { cwd: process.cwd(), stdio: ["ignore", "pipe", "inherit"] });
    let childOutput = "";
    child.stdout.on("data", (chunk) => (childOutput += chunk));
    const childDone = new Promise<number>((resolve) => child.on("exit", (code) => resolve(code ?? -1)));

    let acknowledged = 0;
    const repository = db.dataSource.getRepository(OccCounter);
    while (acknowledged < 200) {
      const counter = await repository.findOneByOrFail({ id });
      counter.value += 1;
      try {
        await repository.save(counter);
        acknowledged++;
      } catch (error) {
        if (!isStaleDataError(error)) throw error; // a conflict: read again
      }
    }
    expect(await childDone).toBe(0);
    const total = acknowledged + Number(childOutput);
    expect(Number(childOutput)).toBe(childIncrements);
    expect((await repository.findOneByOrFail({ id })).value).toBe(total);
  });
});
