import type { DataSource } from "typeorm";
import { isRetryableConflict, isSqliteBusy, updateVersioned } from "typeorm-occ";
import type { BenchConfig } from "../config";
import type { BenchDatabase } from "../databases";
import { OccItem } from "../entities";
import { interleave, type Contender } from "../interleave";
import { progress } from "../progress";
import { micros, table, times, type Section, type Target } from "../report";
import { ratio, summarize, type Summary } from "../stats";
import { freshRows, total } from "./calculated-update";
import { backoff } from "./contended-counter";
import { rawVersioned, type RawVersioned } from "./raw-counter";

/** PostgreSQL only: updateVersioned alone ≤ this × one raw conditional UPDATE. */
const LATENCY_TARGET = 1.3;
/** PostgreSQL only: the updateVersioned read-and-retry loop ≥ this × the raw loop's throughput, on every setting. */
const THROUGHPUT_TARGET = 0.8;

const TITLE = "7. Version-checked update (updateVersioned)";

interface Tally {
  retries: number;
  gaveUp: number;
}

interface Method {
  name: string;
  /** One increment, retried on a version conflict; resolves true when it was acknowledged. */
  increment(id: number, tally: Tally): Promise<boolean>;
}

interface Outcome {
  perSecond: number;
  retriesPerSuccess: number;
  gaveUp: number;
  lost: number;
}

/**
 * Scenario 7, per database (PostgreSQL, SQLite, and MariaDB when MARIADB_URL is set):
 * `updateVersioned` — one `UPDATE … SET …, version = :v + 1 WHERE id AND version = :v`, nothing read
 * before it — against the same conditional statement over the raw driver, alone (latency) and in a
 * read-then-write retry loop under contention (throughput, lost updates). `mariadb` is the run's
 * MariaDB database when MARIADB_URL is set and wanted; `run` is the bench's `attempt` wrapper, so a
 * failing database is reported and the others still run.
 */
export async function versionedUpdates(
  databases: BenchDatabase[],
  mariadb: BenchDatabase | undefined,
  config: BenchConfig,
  run: (title: string, scenario: () => Promise<Section>) => Promise<Section | undefined>,
): Promise<Array<Section | undefined>> {
  const sections: Array<Section | undefined> = [];
  for (const db of [...databases, ...(mariadb ? [mariadb] : [])]) sections.push(await run(`${TITLE} — ${db.driver}`, () => versionedUpdate(db, config)));
  if (!process.env.MARIADB_URL && sections.some(Boolean)) sections.push({ title: `${TITLE} — mariadb`, body: "Skipped: set MARIADB_URL to include MariaDB.", targets: [] });
  return sections;
}

async function versionedUpdate(db: BenchDatabase, config: BenchConfig): Promise<Section> {
  const { poolSize, retries, workers, rows } = config.contention;
  const { rounds, seconds } = config.versionedUpdate;
  const dataSource = db.driver === "sqlite" ? db.dataSource : await db.open({ poolSize });
  const raw = await rawVersioned(db, "occ_item", poolSize);
  try {
    const latency = await singleOp(db, dataSource, raw, config);
    const methods = contenders(dataSource, raw, retries, db.driver);
    const tableRows: string[][] = [];
    const ratios: string[] = [];
    let worst = Infinity;
    let occLost = 0;
    let rawLost = 0;
    for (const hotRows of rows) {
      for (const workerCount of workers) {
        const label = `${workerCount} / ${hotRows === 1 ? "1 hot row" : `${hotRows} rows`}`;
        progress(`versioned update on ${db.driver}: ${label}`);
        const outcomes = new Map<Method, Outcome[]>(methods.map((method) => [method, []]));
        for (let round = 0; round < rounds; round++) {
          for (let turn = 0; turn < methods.length; turn++) {
            const method = methods[(round + turn) % methods.length];
            outcomes.get(method)!.push(await runOnce(dataSource, method, workerCount, hotRows, seconds));
          }
        }
        const speed = new Map<Method, Summary>(methods.map((method) => [method, summarize(outcomes.get(method)!.map((o) => o.perSecond))]));
        const [occ, rawLoop] = methods;
        const rawSpeed = speed.get(rawLoop)!.median;
        for (const method of methods) {
          const runs = outcomes.get(method)!;
          const summary = speed.get(method)!;
          const lost = runs.reduce((sum, o) => sum + o.lost, 0);
          tableRows.push([
            label,
            method.name,
            `${Math.round(summary.median)} (${Math.round(summary.p25)}–${Math.round(summary.p75)})`,
            times(summary.median / rawSpeed),
            summarize(runs.map((o) => o.retriesPerSuccess)).median.toFixed(2),
            String(runs.reduce((sum, o) => sum + o.gaveUp, 0)),
            lost > 0 ? `**${lost}**` : String(lost),
          ]);
        }
        const occRatio = speed.get(occ)!.median / rawSpeed;
        worst = Math.min(worst, occRatio);
        occLost += outcomes.get(occ)!.reduce((sum, o) => sum + o.lost, 0);
        rawLost += outcomes.get(rawLoop)!.reduce((sum, o) => sum + o.lost, 0);
        ratios.push(`${label}: ${times(occRatio)}`);
      }
    }

    const lostWhy =
      "acknowledged increments are missing from the counters: updateVersioned resolved for a write whose version check did not hold (or the retry loop acknowledged one that failed); a correctness bug.";
    const targets: Target[] = [];
    if (db.driver === "postgres") {
      const latencyMet = latency.ratio <= LATENCY_TARGET;
      targets.push({
        name: `Single op on ${db.driver}: updateVersioned ≤ ${LATENCY_TARGET}× one raw conditional UPDATE`,
        met: latencyMet,
        detail: `${times(latency.ratio)} raw (${Math.round(latency.occ.median)} vs ${Math.round(latency.raw.median)} µs)`,
        whyAndFix: latencyMet
          ? undefined
          : "both send one identical `UPDATE … WHERE id = … AND version = …`, so the gap is the client's CPU per call: typeorm-occ's checks of the key and changes, " +
            "a query runner created and released per call, and TypeORM's UpdateQueryBuilder (SQL text, property paths, parameter escaping) on a 2-core machine that also runs the database. " +
            "What would close it: build the statement once per entity and change shape and reuse it with new parameters, instead of going through the query builder per call.",
      });
      const met = worst >= THROUGHPUT_TARGET && occLost === 0;
      targets.push({
        name: `Contended counter on ${db.driver}: updateVersioned read-and-retry loop ≥ ${THROUGHPUT_TARGET}× the raw loop on every setting, zero lost updates`,
        met,
        detail: `lost ${occLost} (raw loop ${rawLost}); updateVersioned vs raw ${ratios.join(", ")}`,
        whyAndFix: met
          ? undefined
          : occLost > 0
            ? lostWhy
            : "each attempt is two statements on both sides (a SELECT, then the version-checked UPDATE), so the gap is client CPU per statement: the repository's findOneBy (query builder, entity hydration) " +
              "and updateVersioned's query builder against two raw driver calls; a conflict also costs updateVersioned one more SELECT (the row's current version, for StaleDataError's details) that the raw loop skips, " +
              "and the longer read-to-write window means more conflicts on a hot row (see retries per success). What would close it: a cached statement per entity and change shape, and a failure path that need not read the current version.",
      });
    } else {
      targets.push({
        name: `Version-checked update on ${db.driver}: updateVersioned read-and-retry loop, zero lost updates`,
        met: occLost === 0,
        detail: `lost ${occLost} (raw loop ${rawLost}); single op ${times(latency.ratio)} one raw conditional UPDATE; contended updateVersioned vs raw ${ratios.join(", ")}`,
        whyAndFix: occLost === 0 ? undefined : lostWhy,
      });
    }

    const body = [
      `The version check in one statement: \`updateVersioned(items, { id, version }, changes)\` sends \`UPDATE occ_item SET …, version = :v + 1 WHERE id = ? AND version = :v\` ` +
        `against the same conditional statement over the driver (${db.driver === "sqlite" ? "prepared better-sqlite3 statements" : `a ${db.driver === "postgres" ? "pg" : "mysql2"} pool of ${poolSize}`}), the version kept by the caller.`,
      "",
      `Single operation, no contention: ${config.singleSave.rounds} interleaved rounds × ${config.singleSave.opsPerSample} increments of one row, ` +
        "`{ counter: () => \"counter + 1\" }` against `SET counter = counter + 1, version = version + 1 WHERE id = ? AND version = ?`.",
      "",
      table(["Contender", "Time per update", "vs raw statement"], latency.rows),
      "",
      `Contended counter: ${rounds} interleaved rounds of ${seconds} s per method and setting, pool ${poolSize}${db.driver === "sqlite" ? " (SQLite: one connection, write units queued by typeorm-occ)" : ""}. ` +
        "Each attempt reads the row (`items.findOneByOrFail({ id })`, or a raw `SELECT counter, version`) and writes `counter = read + 1` checked against the version read; " +
        `both loops retry a conflict (StaleDataError, or 0 rows matched) up to ${retries} times with the same jittered backoff (5 ms doubling, ≤ 250 ms). ` +
        "Lost updates = acknowledged increments − growth of the counters, over all rounds.",
      "",
      table(["Workers / rows", "Method", "Acknowledged increments/s", "vs raw loop", "Retries per success", "Gave up", "Lost updates"], tableRows),
    ].join("\n");
    return { title: `${TITLE} — ${db.version}`, body, targets };
  } finally {
    await raw.close();
    if (dataSource !== db.dataSource) await dataSource.destroy();
  }
}

async function singleOp(db: BenchDatabase, dataSource: DataSource, raw: RawVersioned, config: BenchConfig) {
  progress(`versioned update on ${db.driver}: single operation`);
  const items = dataSource.getRepository(OccItem);
  const [viaOcc, viaRaw] = await items.save([items.create({ name: "updateVersioned", counter: 0 }), items.create({ name: "raw", counter: 0 })]);
  let occVersion = viaOcc.version;
  let rawVersion = viaRaw.version;
  const contenders: Contender[] = [
    {
      name: 'updateVersioned(…, { id, version }, { counter: () => "counter + 1" })',
      run: async () => {
        occVersion = (await updateVersioned(items, { id: viaOcc.id, version: occVersion }, { counter: () => "counter + 1" })).version;
      },
    },
    {
      name: "raw conditional UPDATE (floor)",
      run: async () => {
        const matched = await raw.increment(viaRaw.id, rawVersion);
        if (matched !== 1) throw new Error(`raw conditional UPDATE matched ${matched} rows (id ${viaRaw.id}, version ${rawVersion})`);
        rawVersion++;
      },
    },
  ];
  const samples = await interleave(contenders, config.singleSave);
  const [occ, rawTime] = contenders.map((contender) => summarize(samples.get(contender.name)!));
  return {
    ratio: ratio(occ, rawTime),
    occ,
    raw: rawTime,
    rows: [
      [contenders[0].name, micros(occ), times(ratio(occ, rawTime))],
      [contenders[1].name, micros(rawTime), "1.00×"],
    ],
  };
}

function contenders(dataSource: DataSource, raw: RawVersioned, retries: number, driver: BenchDatabase["driver"]): Method[] {
  const items = dataSource.getRepository(OccItem);
  const retryOn = (error: unknown) => isRetryableConflict(error) || (driver === "sqlite" && isSqliteBusy(error));
  return [
    {
      name: "findOneBy + updateVersioned, retried",
      increment: async (id, tally) => {
        for (let attempt = 0; ; attempt++) {
          try {
            const item = await items.findOneByOrFail({ id });
            await updateVersioned(items, { id, version: item.version }, { counter: item.counter + 1 });
            return true;
          } catch (error) {
            if (!retryOn(error)) throw error;
          }
          if (attempt >= retries) {
            tally.gaveUp++;
            return false;
          }
          tally.retries++;
          await backoff(attempt);
        }
      },
    },
    {
      name: "raw SELECT + conditional UPDATE, retried",
      increment: async (id, tally) => {
        for (let attempt = 0; ; attempt++) {
          const row = await raw.read(id);
          if ((await raw.write(id, row.counter + 1, row.version)) === 1) return true;
          if (attempt >= retries) {
            tally.gaveUp++;
            return false;
          }
          tally.retries++;
          await backoff(attempt);
        }
      },
    },
  ];
}

async function runOnce(dataSource: DataSource, method: Method, workers: number, rows: number, seconds: number): Promise<Outcome> {
  const ids = await freshRows(dataSource, "occ_item");
  const before = await total(dataSource, "occ_item");
  const tally: Tally = { retries: 0, gaveUp: 0 };
  let acknowledged = 0;
  const deadline = Date.now() + seconds * 1000;
  const worker = async () => {
    while (Date.now() < deadline) {
      const id = rows === 1 ? ids[0] : ids[Math.floor(Math.random() * Math.min(rows, ids.length))];
      if (await method.increment(id, tally)) acknowledged++;
    }
  };
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: workers }, worker));
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  return {
    perSecond: acknowledged / elapsed,
    retriesPerSuccess: acknowledged ? tally.retries / acknowledged : Number.NaN,
    gaveUp: tally.gaveUp,
    lost: acknowledged - ((await total(dataSource, "occ_item")) - before),
  };
}
