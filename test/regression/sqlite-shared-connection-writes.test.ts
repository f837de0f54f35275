import "reflect-metadata";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Column, DataSource, Entity, PrimaryGeneratedColumn, type DataSourceOptions } from "typeorm";
import { SharedConnectionBusyError, StaleDataError, isSqliteBusy } from "typeorm-occ";
import { eachDriver } from "../support/each-driver";
import { Doc, OccCounter, PlainCounter, coreEntities } from "../support/entities/core";

/** An entity typeorm-occ knows nothing about, for a DataSource with plain entities alone. */
@Entity()
class PlainNote {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") text!: string;
}

/**
 * Issue 9, item 9: on one better-sqlite3 DataSource, a concurrent update(), insert(), increment()
 * or query-builder update() landed inside another caller's open save transaction, and that save's
 * rollback erased the acknowledged write. And with plain entities alone, a save started outside a
 * transaction and awaited inside one never finished. Every write entry point now queues on the
 * DataSource's gate; DataSources without typeorm-occ entities are not gated at all; and a write that
 * would wait forever fails with SharedConnectionBusyError after the DataSource's timeout.
 */
eachDriver((driver) => driver === "sqlite")("writes on one shared SQLite connection (%s)", () => {
  let dir: string;
  const sources: DataSource[] = [];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "typeorm-occ-gate-"));
  });
  afterAll(async () => {
    for (const source of sources) if (source.isInitialized) await source.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  async function open(name: string, entities: Function[], extra: Partial<DataSourceOptions> = {}): Promise<DataSource> {
    const source = new DataSource({
      type: "better-sqlite3",
      database: join(dir, `${name}.sqlite`),
      enableWAL: true,
      synchronize: true,
      entities,
      ...extra,
    } as DataSourceOptions);
    await source.initialize();
    sources.push(source);
    return source;
  }

  /** A caller's transaction that writes, waits until `release` is called, then fails with StaleDataError. */
  async function failingTransaction(source: DataSource) {
    const docs = source.getRepository(Doc);
    const stale = await docs.save(docs.create({ title: "read" }));
    await docs.update(stale.id, { title: "changed since" });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const isOpen = new Promise<void>((resolve) => (started = resolve));
    const done = source.transaction(async (manager) => {
      await manager.save(manager.create(Doc, { title: "inside" }));
      started();
      await released;
      stale.title = "stale";
      await manager.save(stale); // StaleDataError: the whole transaction rolls back
    });
    return { isOpen, release, done };
  }

  it.each([
    [
      "update()",
      (source: DataSource, id: number) => source.getRepository(OccCounter).update(id, { value: 7 }),
      (counter: OccCounter | null) => counter?.value === 7,
    ],
    [
      "increment()",
      (source: DataSource, id: number) => source.getRepository(OccCounter).increment({ id }, "value", 7),
      (counter: OccCounter | null) => counter?.value === 7,
    ],
    [
      "a query-builder update()",
      (source: DataSource, id: number) =>
        source.createQueryBuilder().update(OccCounter).set({ value: 7 }).where("id = :id", { id }).execute(),
      (counter: OccCounter | null) => counter?.value === 7,
    ],
    [
      "insert()",
      (source: DataSource) => source.getRepository(OccCounter).insert({ value: 7 }),
      (_: OccCounter | null, all: OccCounter[]) => all.some((counter) => counter.value === 7),
    ],
    [
      "a raw query",
      (source: DataSource, id: number) => source.query(`UPDATE occ_counter SET value = 7 WHERE id = ${Number(id)}`),
      (counter: OccCounter | null) => counter?.value === 7,
    ],
  ])("reproduction: %s acknowledged during another caller's failing transaction is kept", async (_, write, applied) => {
    const source = await open(`kept-${Math.random().toString(36).slice(2)}`, coreEntities);
    const { id } = await source.getRepository(OccCounter).save({ value: 0 });
    const transaction = await failingTransaction(source);
    await transaction.isOpen;
    const acknowledged = write(source, id);
    transaction.release();
    await expect(transaction.done).rejects.toBeInstanceOf(StaleDataError);
    await acknowledged;
    const counters = source.getRepository(OccCounter);
    expect(applied(await counters.findOneBy({ id }), await counters.find())).toBe(true);
    expect(await source.getRepository(Doc).countBy({ title: "inside" })).toBe(0); // the failed transaction left nothing
  });

  it("with plain entities alone, a save started outside a transaction and awaited inside one completes, as in plain TypeORM", async () => {
    const source = await open("plain-only", [PlainNote, PlainCounter]);
    const notes = source.getRepository(PlainNote);
    // eslint-disable-next-line prefer-const -- the transaction's callback awaits it, so it is declared before it is assigned
    let pending!: Promise<unknown>;
    const transaction = source.transaction(async () => {
      await new Promise((resolve) => setTimeout(resolve, 10));
      await pending;
    });
    pending = notes.save(notes.create({ text: "started outside" }));
    await transaction;
    expect(await notes.countBy({ text: "started outside" })).toBe(1);
  });

  it("with typeorm-occ entities, that pattern fails with SharedConnectionBusyError after the timeout instead of hanging, and loses nothing", async () => {
    const source = await open("guarded", coreEntities, { timeout: 300 } as Partial<DataSourceOptions>);
    const docs = source.getRepository(Doc);
    // eslint-disable-next-line prefer-const -- the transaction's callback awaits it, so it is declared before it is assigned
    let pending!: Promise<unknown>;
    const transaction = source.transaction(async (manager) => {
      await manager.save(manager.create(Doc, { title: "by the transaction" }));
      await new Promise((resolve) => setTimeout(resolve, 10));
      await pending;
    });
    pending = docs.save(docs.create({ title: "started outside" }));
    const started = Date.now();
    const error = await transaction.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SharedConnectionBusyError);
    expect(isSqliteBusy(error)).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
    await expect(pending).rejects.toBeInstanceOf(SharedConnectionBusyError);
    expect(await docs.countBy({ title: "by the transaction" })).toBe(0);
    expect(await docs.countBy({ title: "started outside" })).toBe(0);
  });

  it("queues many concurrent writers without a false timeout", async () => {
    const source = await open("queue", coreEntities);
    const counters = source.getRepository(OccCounter);
    const { id } = await counters.save({ value: 0 });
    await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        i % 2 === 0
          ? source.transaction(async (manager) => {
              const counter = await manager.findOneByOrFail(OccCounter, { id });
              await new Promise((resolve) => setTimeout(resolve, 5));
              counter.value += 1;
              await manager.save(counter);
            })
          : counters.increment({ id }, "value", 1),
      ),
    );
    expect(await counters.findOneByOrFail({ id })).toMatchObject({ value: 60, version: 61 });
  });
});
