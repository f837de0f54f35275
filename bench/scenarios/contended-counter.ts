import type { EntityManager } from "typeorm";
import { withOptimisticRetry } from "typeorm-occ";
import type { BenchConfig } from "../config";
import { contend, contendedHeaders, contendedRows, retried, throughputRatio, type ContendedMethod, type Setting } from "../contention";
import type { BenchDatabase } from "../databases";
import { OccItem } from "../entities";
import { table, times, type Section, type Target } from "../report";
import { OCC_SAVE, occConflict, PLAIN_SAVE, RAW_LOOP, readModifyWrites, UPDATE_VERSIONED } from "./counter-methods";
import { drizzleClient } from "./drizzle-client";
import { rawClient } from "./raw-counter";
import { verdict } from "./read-modify-write";

/** Issue 16, 8 workers on one hot row, PostgreSQL: save() ≥ this × plain TypeORM's acknowledged throughput. */
const SAVE_TARGET = 1.0;
/** Issue 16, same setting: findOneBy + updateVersioned ≥ this × the raw loop's throughput. */
const UPDATE_VERSIONED_TARGET = 0.65;

/**
 * Scenario 4, per database: workers increment counters by read-modify-write for a fixed time, each
 * checked contender retrying a lost race with the same backoff: acknowledged increments per second,
 * retries, and lost updates (acknowledged − growth of the counters).
 */
export async function contendedCounter(db: BenchDatabase, config: BenchConfig): Promise<Section> {
  const { poolSize, retries } = config.contention;
  const dataSource = db.driver === "sqlite" ? db.dataSource : await db.open({ poolSize });
  const raw = await rawClient(db, poolSize);
  const drizzle = await drizzleClient(db, poolSize);
  try {
    const methods: ContendedMethod[] = readModifyWrites(dataSource, db.driver, raw, drizzle).map((write) => ({
      name: write.name,
      table: write.table,
      increment: (id, tally) => retried(() => write.once(id), retries, tally, write.conflict),
    }));
    const conflict = occConflict(db.driver);
    methods.push({
      name: "typeorm-occ findOneBy + save() in withOptimisticRetry({ dataSource }) (a transaction per attempt)",
      table: "occ_item",
      increment: async (id, tally) => {
        try {
          const increment = async (manager: EntityManager) => {
            const item = await manager.findOneByOrFail(OccItem, { id });
            item.counter++;
            await manager.save(item);
          };
          await withOptimisticRetry(increment, { dataSource, retries, retryOn: conflict, onRetry: () => void tally.retries++ });
          return true;
        } catch (error) {
          if (!conflict(error)) throw error;
          tally.gaveUp++;
          return false;
        }
      },
    });
    const settings = await contend(dataSource, methods, config.contention, `contended read-modify-write on ${db.driver}`);
    const named = (name: string) => methods.find((method) => method.name === name)!;
    const rawLoop = named(RAW_LOOP);

    const checked = methods.filter((method) => method.name !== PLAIN_SAVE);
    const lost = checked.map(
      (method) => [method.name, settings.reduce((sum, setting) => sum + setting.results.get(method)!.lost, 0)] as const,
    );
    const targets: Target[] = [
      verdict(
        `Contended read-modify-write on ${db.driver}: zero lost updates for every checked contender, every setting`,
        lost.every(([, count]) => count === 0),
        lost.map(([name, count]) => `${name}: ${count}`).join("; "),
        "acknowledged increments are missing from the counters: a version-checked write resolved without its check holding; a correctness bug.",
      ),
    ];
    const hot = settings.find((setting) => setting.workers === 8 && setting.rows === 1);
    if (db.driver === "postgres" && hot)
      targets.push(...hotRowTargets(hot, named(OCC_SAVE), named(PLAIN_SAVE), named(UPDATE_VERSIONED), rawLoop, methods));

    const body = [
      `Pool ${poolSize} (TypeORM, pg/mysql2 pools alike${db.driver === "sqlite" ? "; SQLite: TypeORM's one connection, write units queued by typeorm-occ, the raw and Drizzle loops on connections of their own" : ""}); ` +
        `${config.contention.rounds} interleaved rounds of ${config.contention.seconds} s per method and setting. ` +
        `Each attempt reads the row and writes counter + 1; the checked contenders retry a lost race up to ${retries} times with the same jittered backoff (5 ms doubling, ≤ 250 ms); ` +
        '"gave up" counts increments abandoned after the last retry (not acknowledged). Plain TypeORM checks nothing and never retries. Lost updates = acknowledged increments − growth of the counters, over all rounds.',
      "",
      table(contendedHeaders("raw loop"), contendedRows(settings, rawLoop)),
    ].join("\n");
    return { title: `4. Contended read-modify-write — ${db.version}`, body, targets };
  } finally {
    await raw.close();
    await drizzle.close();
    if (dataSource !== db.dataSource) await dataSource.destroy();
  }
}

function hotRowTargets(
  hot: Setting,
  occSave: ContendedMethod,
  plainSave: ContendedMethod,
  updateVersioned: ContendedMethod,
  rawLoop: ContendedMethod,
  methods: ContendedMethod[],
): Target[] {
  const perSecond = (method: ContendedMethod) => Math.round(hot.results.get(method)!.speed.median);
  const saveRatio = throughputRatio(hot, occSave, plainSave);
  const uvRatio = throughputRatio(hot, updateVersioned, rawLoop);
  const drizzle = methods[1];
  return [
    verdict(
      `save() read-modify-write, 8 workers on one hot row, postgres: ≥ ${SAVE_TARGET}× plain TypeORM's acknowledged throughput`,
      saveRatio >= SAVE_TARGET,
      `${times(saveRatio)} plain (${perSecond(occSave)} vs ${perSecond(plainSave)}/s; plain lost ${hot.results.get(plainSave)!.lost}); ${times(throughputRatio(hot, occSave, rawLoop))} the raw loop`,
      "see the profile in bench/README.md.",
    ),
    verdict(
      `findOneBy + updateVersioned, 8 workers on one hot row, postgres: ≥ ${UPDATE_VERSIONED_TARGET}× the raw loop's throughput`,
      uvRatio >= UPDATE_VERSIONED_TARGET,
      `${times(uvRatio)} raw (${perSecond(updateVersioned)} vs ${perSecond(rawLoop)}/s); Drizzle ${times(throughputRatio(hot, drizzle, rawLoop))}`,
      "see the profile in bench/README.md.",
    ),
  ];
}
