import type { BenchConfig } from "../config";
import { contend, contendedHeaders, contendedRows, retried, throughputRatio, type ContendedMethod } from "../contention";
import type { BenchDatabase } from "../databases";
import { micros, table, times, type Section, type Target } from "../report";
import { ratio } from "../stats";
import { atomicIncrements, DRIZZLE_ATOMIC, RAW_ATOMIC, timeAlone, UPDATE_IF } from "./counter-methods";
import { drizzleClient } from "./drizzle-client";
import { rawClient } from "./raw-counter";
import { verdict } from "./read-modify-write";

/** Issue 16: updateIf alone ≤ this × one raw atomic UPDATE (PostgreSQL, MariaDB; on SQLite: faster than Drizzle's). */
const SINGLE_TARGET = 1.3;
/** Issue 16: updateIf contended (8 workers, one hot row) ≥ this × the raw atomic loop, every database. */
const CONTENDED_TARGET = 0.75;

/**
 * Scenario 6, per database: an atomic increment — one `UPDATE … SET counter = counter + 1, version =
 * version + 1 WHERE id = ?`, nothing read — by typeorm-occ's `updateIf(…, { counter: increment(1) })`,
 * the raw driver and Drizzle: alone (time per statement) and under contention (throughput).
 */
export async function calculatedUpdate(db: BenchDatabase, config: BenchConfig): Promise<Section> {
  const { poolSize, retries } = config.contention;
  const dataSource = db.driver === "sqlite" ? db.dataSource : await db.open({ poolSize });
  const raw = await rawClient(db, poolSize);
  const drizzle = await drizzleClient(db, poolSize);
  try {
    const writes = atomicIncrements(dataSource, db.driver, raw, drizzle);
    const time = await timeAlone(dataSource, writes, config.alone);
    const of = (name: string) => time.get(name)!;
    const methods: ContendedMethod[] = writes.map((write) => ({
      name: write.name,
      table: write.table,
      increment: (id, tally) => retried(() => write.once(id), retries, tally, write.conflict),
    }));
    const settings = await contend(dataSource, methods, config.contention, `atomic increment on ${db.driver}`);
    const [updateIf, rawAtomic, drizzleAtomic] = methods;

    const targets: Target[] = [];
    if (db.driver === "sqlite") {
      const vsDrizzle = ratio(of(UPDATE_IF), of(DRIZZLE_ATOMIC));
      targets.push(
        verdict(
          `updateIf increment alone on sqlite: faster than Drizzle's atomic update`,
          vsDrizzle < 1,
          `${times(vsDrizzle)} Drizzle (${Math.round(of(UPDATE_IF).median)} vs ${Math.round(of(DRIZZLE_ATOMIC).median)} µs); ${times(ratio(of(UPDATE_IF), of(RAW_ATOMIC)))} raw`,
          "one identical statement each, so the gap is client CPU per call (see the profile in bench/README.md).",
        ),
      );
    } else {
      const vsRaw = ratio(of(UPDATE_IF), of(RAW_ATOMIC));
      targets.push(
        verdict(
          `updateIf increment alone on ${db.driver}: ≤ ${SINGLE_TARGET}× one raw atomic UPDATE`,
          vsRaw <= SINGLE_TARGET,
          `${times(vsRaw)} raw (${Math.round(of(UPDATE_IF).median)} vs ${Math.round(of(RAW_ATOMIC).median)} µs); Drizzle ${times(ratio(of(DRIZZLE_ATOMIC), of(RAW_ATOMIC)))} raw`,
          "one identical statement each, so the gap is client CPU per call (see the profile in bench/README.md).",
        ),
      );
    }
    const hot = settings.find((setting) => setting.workers === 8 && setting.rows === 1);
    if (hot) {
      const contended = throughputRatio(hot, updateIf, rawAtomic);
      const lost = settings.reduce((sum, setting) => sum + setting.results.get(updateIf)!.lost, 0);
      targets.push(
        verdict(
          `updateIf increment, 8 workers on one hot row, ${db.driver}: ≥ ${CONTENDED_TARGET}× the raw atomic loop's throughput, zero lost updates`,
          contended >= CONTENDED_TARGET && lost === 0,
          `${times(contended)} raw (${Math.round(hot.results.get(updateIf)!.speed.median)} vs ${Math.round(hot.results.get(rawAtomic)!.speed.median)}/s); Drizzle ${times(throughputRatio(hot, drizzleAtomic, rawAtomic))}; updateIf lost ${lost} over every setting; other settings: ` +
            settings
              .filter((setting) => setting !== hot)
              .map((setting) => `${setting.label} ${times(throughputRatio(setting, updateIf, rawAtomic))}`)
              .join(", "),
          lost > 0
            ? "acknowledged increments are missing from the counters: a correctness bug."
            : "one identical statement each, so the gap is client CPU per call (see the profile in bench/README.md).",
        ),
      );
    }

    const body = [
      `One statement per increment, nothing read: \`updateIf(items, { id }, { counter: increment(1) })\` (adds \`version = version + 1\`), the raw driver's \`UPDATE occ_item SET counter = counter + 1, version = version + 1 WHERE id = ?\` ` +
        `(${db.driver === "sqlite" ? "a prepared better-sqlite3 statement" : `a pool of ${poolSize}`}) and Drizzle's \`update(items).set({ counter: sql\`counter + 1\`, … })\` (query builder per call).`,
      "",
      `Alone, no contention: ${config.alone.rounds} interleaved rounds × ${config.alone.opsPerSample} increments, each contender on a row of its own.`,
      "",
      table(
        ["Contender", "Time per increment", "vs raw statement", "vs Drizzle"],
        writes.map((write) => [
          write.name,
          micros(of(write.name)),
          times(ratio(of(write.name), of(RAW_ATOMIC))),
          times(ratio(of(write.name), of(DRIZZLE_ATOMIC))),
        ]),
      ),
      "",
      `Contended: ${config.contention.rounds} interleaved rounds of ${config.contention.seconds} s per method and setting, pool ${poolSize}${db.driver === "sqlite" ? " (SQLite: TypeORM's one connection, write units queued by typeorm-occ; raw and Drizzle on connections of their own)" : ""}. ` +
        "Lost updates = acknowledged increments − growth of the counters, over all rounds.",
      "",
      table(contendedHeaders("raw atomic loop"), contendedRows(settings, rawAtomic)),
    ].join("\n");
    return { title: `6. Atomic increment (updateIf) — ${db.version}`, body, targets };
  } finally {
    await raw.close();
    await drizzle.close();
    if (dataSource !== db.dataSource) await dataSource.destroy();
  }
}
