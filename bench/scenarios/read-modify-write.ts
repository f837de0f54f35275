import type { BenchConfig } from "../config";
import { freshRows } from "../contention";
import type { BenchDatabase, DriverName } from "../databases";
import { progress } from "../progress";
import { micros, table, times, type Section, type Target } from "../report";
import { verbs } from "../statement-counter";
import { ratio } from "../stats";
import { OCC_SAVE, PLAIN_SAVE, RAW_LOOP, readModifyWrites, timeAlone, UPDATE_VERSIONED, type CounterWrite } from "./counter-methods";
import { drizzleClient } from "./drizzle-client";
import { rawClient } from "./raw-counter";

/** Issue 16: save()'s read-modify-write ≤ this × plain TypeORM's time. */
const SAVE_TARGET: Record<DriverName, number> = { postgres: 0.75, sqlite: 0.9, mariadb: 0.9 };
/** Issue 16: findOneBy + updateVersioned ≤ this × the raw loop's time (judged on PostgreSQL, the column). */
const UPDATE_VERSIONED_TARGET = 1.5;

/**
 * Scenario 1, per database: one read-modify-write of one row (read it, write counter + 1 checked
 * against the version read), no contention, by each contender: the raw driver, Drizzle, typeorm-occ
 * findOneBy + updateVersioned, plain TypeORM's unchecked save() and typeorm-occ's save().
 */
export async function readModifyWrite(db: BenchDatabase, config: BenchConfig): Promise<Section> {
  progress(`read-modify-write on ${db.driver}`);
  const raw = await rawClient(db, 1);
  const drizzle = await drizzleClient(db, 1);
  try {
    const writes = readModifyWrites(db.dataSource, db.driver, raw, drizzle);
    const time = await timeAlone(db.dataSource, writes, config.alone);
    const sent = new Map<string, string[]>();
    for (const write of writes) sent.set(write.name, await statementsOf(db, write));

    const of = (name: string) => time.get(name)!;
    const rows = writes.map((write) => {
      const statements = sent.get(write.name)!;
      return [
        write.name,
        micros(of(write.name)),
        times(ratio(of(write.name), of(RAW_LOOP))),
        times(ratio(of(write.name), of(PLAIN_SAVE))),
        String(statements.length),
        verbs(statements),
      ];
    });
    const body = [
      `${config.alone.rounds} interleaved rounds × ${config.alone.opsPerSample} read-modify-writes, each contender on a row of its own; time per read-modify-write, median (p25–p75). ` +
        "Statements: as TypeORM's logger saw them; the raw and Drizzle loops send a SELECT and an UPDATE by construction.",
      "",
      table(["Contender", "Time", "vs raw loop", "vs plain TypeORM save()", "Statements", "Verbs"], rows),
    ].join("\n");

    const saveRatio = ratio(of(OCC_SAVE), of(PLAIN_SAVE));
    const occSent = sent.get(OCC_SAVE)!;
    const targets: Target[] = [
      verdict(
        `save() read-modify-write on ${db.driver}: ≤ ${SAVE_TARGET[db.driver]}× plain TypeORM's time`,
        saveRatio <= SAVE_TARGET[db.driver],
        `${times(saveRatio)} plain (${Math.round(of(OCC_SAVE).median)} vs ${Math.round(of(PLAIN_SAVE).median)} µs); statements ${occSent.length} (${verbs(occSent)}) vs ${sent.get(PLAIN_SAVE)!.length} (${verbs(sent.get(PLAIN_SAVE)!)}); ${times(ratio(of(OCC_SAVE), of(RAW_LOOP)))} the raw loop`,
        occSent.length > 2
          ? `sends ${occSent.length} statements (${verbs(occSent)}) where the raw loop sends 2.`
          : "sends the raw loop's two statements, so the gap is client CPU per call (see the profile in bench/README.md).",
      ),
    ];
    if (db.driver === "postgres") {
      const uvRatio = ratio(of(UPDATE_VERSIONED), of(RAW_LOOP));
      targets.push(
        verdict(
          `findOneBy + updateVersioned alone on ${db.driver}: ≤ ${UPDATE_VERSIONED_TARGET}× the raw loop's time`,
          uvRatio <= UPDATE_VERSIONED_TARGET,
          `${times(uvRatio)} raw (${Math.round(of(UPDATE_VERSIONED).median)} vs ${Math.round(of(RAW_LOOP).median)} µs); Drizzle ${times(ratio(of(writes[1].name), of(RAW_LOOP)))}`,
          "sends the raw loop's two statements, so the gap is client CPU per call (see the profile in bench/README.md).",
        ),
      );
    }
    return { title: `1. Read-modify-write of one row — ${db.version}`, body, targets };
  } finally {
    await raw.close();
    await drizzle.close();
  }
}

export function verdict(name: string, met: boolean, detail: string, why: string): Target {
  return { name, met, detail, whyAndFix: met ? undefined : why };
}

/** The statements one write of `write` sends through TypeORM (none for the raw and Drizzle loops: SELECT, UPDATE). */
async function statementsOf(db: BenchDatabase, write: CounterWrite): Promise<string[]> {
  const [id] = await freshRows(db.dataSource, write.table);
  const sent = await db.counter.capture(() => write.once(id));
  return sent.length ? sent : ["SELECT …", "UPDATE …"];
}
