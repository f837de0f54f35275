import type { DataSource } from "typeorm";
import { increment, isRetryableConflict, isSqliteBusy, updateIf, updateVersioned } from "typeorm-occ";
import { freshRows, type CounterTable } from "../contention";
import type { DriverName } from "../databases";
import { OccItem, PlainItem } from "../entities";
import { interleave, type InterleaveOptions } from "../interleave";
import { summarize, type Summary } from "../stats";
import type { DirectClient } from "./raw-counter";

/** One way to add 1 to a counter row, once: resolves false when its version check failed (nothing written). */
export interface CounterWrite {
  name: string;
  table: CounterTable;
  once(id: number): Promise<boolean>;
  /** Errors that mean "lost the race, retry" (StaleDataError; SQLITE_BUSY on SQLite); others propagate. */
  conflict?(error: unknown): boolean;
}

export const RAW_LOOP = "raw driver: SELECT + conditional UPDATE";
export const DRIZZLE_LOOP = "Drizzle: select + conditional update";
export const UPDATE_VERSIONED = "typeorm-occ findOneBy + updateVersioned";
export const PLAIN_SAVE = "plain TypeORM findOneBy + save() (no check)";
export const OCC_SAVE = "typeorm-occ findOneBy + save()";

export const UPDATE_IF = "typeorm-occ updateIf(…, { counter: increment(1) })";
export const RAW_ATOMIC = "raw driver: UPDATE … SET counter = counter + 1";
export const DRIZZLE_ATOMIC = "Drizzle: update … set counter + 1";

export const occConflict = (driver: DriverName) => (error: unknown) =>
  isRetryableConflict(error) || (driver === "sqlite" && isSqliteBusy(error));

/**
 * Read the row, write `counter + 1` checked against the version read: the read-modify-write,
 * by every contender. Plain TypeORM's save() has no check, so it never fails (and loses updates).
 */
export function readModifyWrites(dataSource: DataSource, driver: DriverName, raw: DirectClient, drizzle: DirectClient): CounterWrite[] {
  const occItems = dataSource.getRepository(OccItem);
  const plainItems = dataSource.getRepository(PlainItem);
  const conflict = occConflict(driver);
  const direct = (client: DirectClient) => async (id: number) => {
    const row = await client.read(id);
    return (await client.write(id, row.counter + 1, row.version)) === 1;
  };
  return [
    { name: RAW_LOOP, table: "occ_item", once: direct(raw) },
    { name: DRIZZLE_LOOP, table: "occ_item", once: direct(drizzle) },
    {
      name: UPDATE_VERSIONED,
      table: "occ_item",
      once: async (id) => {
        const item = await occItems.findOneByOrFail({ id });
        await updateVersioned(occItems, { id, version: item.version }, { counter: item.counter + 1 });
        return true;
      },
      conflict,
    },
    {
      name: PLAIN_SAVE,
      table: "plain_item",
      once: async (id) => {
        const item = await plainItems.findOneByOrFail({ id });
        item.counter++;
        await plainItems.save(item);
        return true;
      },
    },
    {
      name: OCC_SAVE,
      table: "occ_item",
      once: async (id) => {
        const item = await occItems.findOneByOrFail({ id });
        item.counter++;
        await occItems.save(item);
        return true;
      },
      conflict,
    },
  ];
}

/** One `SET counter = counter + 1` statement, nothing read, by every contender. */
export function atomicIncrements(dataSource: DataSource, driver: DriverName, raw: DirectClient, drizzle: DirectClient): CounterWrite[] {
  const occItems = dataSource.getRepository(OccItem);
  return [
    {
      name: UPDATE_IF,
      table: "occ_item",
      once: async (id) => (await updateIf(occItems, { id }, { counter: increment(1) })).affected === 1,
      conflict: occConflict(driver),
    },
    { name: RAW_ATOMIC, table: "occ_item", once: async (id) => (await raw.increment(id)) === 1 },
    { name: DRIZZLE_ATOMIC, table: "occ_item", once: async (id) => (await drizzle.increment(id)) === 1 },
  ];
}

/**
 * Each write alone, no contention: interleaved rounds, each write on a row of its own. Resolves to
 * the time per write (µs) by name; a failed version check here is a bug in the bench, so it throws.
 */
export async function timeAlone(dataSource: DataSource, writes: CounterWrite[], options: InterleaveOptions): Promise<Map<string, Summary>> {
  const ids = { occ_item: await freshRows(dataSource, "occ_item"), plain_item: await freshRows(dataSource, "plain_item") };
  const contenders = writes.map((write, index) => ({
    name: write.name,
    run: async () => {
      if (!(await write.once(ids[write.table][index]))) throw new Error(`${write.name}: version check failed with no one else writing`);
    },
  }));
  const samples = await interleave(contenders, options);
  return new Map(writes.map((write) => [write.name, summarize(samples.get(write.name)!)]));
}
