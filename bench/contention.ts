import type { DataSource } from "typeorm";
import { progress } from "./progress";
import { times } from "./report";
import { summarize, type Summary } from "./stats";

export type CounterTable = "occ_item" | "plain_item";

/** Retries and increments abandoned after the last retry, counted over one run. */
export interface Tally {
  retries: number;
  gaveUp: number;
}

/** One way to add 1 to a counter row; `increment` resolves true when the increment was acknowledged. */
export interface ContendedMethod {
  name: string;
  table: CounterTable;
  increment(id: number, tally: Tally): Promise<boolean>;
}

export interface Outcome {
  perSecond: number;
  retriesPerSuccess: number;
  gaveUp: number;
  /** Acknowledged increments − growth of the counters. */
  lost: number;
}

/** The figures of one method on one setting, over all rounds. */
export interface Measured {
  speed: Summary;
  lost: number;
  gaveUp: number;
  retriesPerSuccess: number;
}

export interface Setting {
  workers: number;
  rows: number;
  label: string;
  results: Map<ContendedMethod, Measured>;
}

/** The backoff withOptimisticRetry uses by default (5 ms doubling to 250 ms, full jitter), for every retry loop. */
export const backoff = (attempt: number) => new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(250, 5 * 2 ** attempt)));

/**
 * Runs `attempt` until it returns true (written), at most `retries` times more, with the shared
 * backoff. `conflict` says which errors are a lost race to retry (e.g. StaleDataError); others propagate.
 */
export async function retried(
  attempt: () => Promise<boolean>,
  retries: number,
  tally: Tally,
  conflict: (error: unknown) => boolean = () => false,
): Promise<boolean> {
  for (let round = 0; ; round++) {
    try {
      if (await attempt()) return true;
    } catch (error) {
      if (!conflict(error)) throw error;
    }
    if (round >= retries) {
      tally.gaveUp++;
      return false;
    }
    tally.retries++;
    await backoff(round);
  }
}

/** 100 rows at counter 0; their ids. Plain SQL: setup, not one of the writes under test. */
export async function freshRows(dataSource: DataSource, tableName: CounterTable): Promise<number[]> {
  await dataSource.query(`DELETE FROM ${tableName}`);
  const values = Array.from({ length: 100 }, (_, i) => `('row ${i}', 0, 1)`).join(", ");
  await dataSource.query(`INSERT INTO ${tableName} (name, counter, version) VALUES ${values}`);
  const rows = (await dataSource.query(`SELECT id FROM ${tableName} ORDER BY id`)) as Array<{ id: number | string }>;
  return rows.map((row) => Number(row.id));
}

async function total(dataSource: DataSource, tableName: CounterTable): Promise<number> {
  const [{ sum }] = (await dataSource.query(`SELECT COALESCE(SUM(counter), 0) AS sum FROM ${tableName}`)) as Array<{
    sum: string | number;
  }>;
  return Number(sum);
}

/** `workers` concurrent loops incrementing random rows among the first `rows` for `seconds`. */
async function runOnce(dataSource: DataSource, method: ContendedMethod, workers: number, rows: number, seconds: number): Promise<Outcome> {
  const ids = await freshRows(dataSource, method.table);
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
    lost: acknowledged - (await total(dataSource, method.table)),
  };
}

export interface ContentionOptions {
  rounds: number;
  seconds: number;
  workers: number[];
  rows: number[];
}

/**
 * Every method on every setting (workers × hot rows) for a fixed time, methods interleaved and their
 * order rotated each round; `what` names the run in the progress lines.
 */
export async function contend(
  dataSource: DataSource,
  methods: ContendedMethod[],
  options: ContentionOptions,
  what: string,
): Promise<Setting[]> {
  const settings: Setting[] = [];
  for (const rows of options.rows) {
    for (const workers of options.workers) {
      const label = `${workers} / ${rows === 1 ? "1 hot row" : `${rows} rows`}`;
      progress(`${what}: ${label}`);
      const outcomes = new Map<ContendedMethod, Outcome[]>(methods.map((method) => [method, []]));
      for (let round = 0; round < options.rounds; round++) {
        for (let turn = 0; turn < methods.length; turn++) {
          const method = methods[(round + turn) % methods.length];
          outcomes.get(method)!.push(await runOnce(dataSource, method, workers, rows, options.seconds));
        }
      }
      const results = new Map<ContendedMethod, Measured>();
      for (const [method, runs] of outcomes) {
        results.set(method, {
          speed: summarize(runs.map((run) => run.perSecond)),
          lost: runs.reduce((sum, run) => sum + run.lost, 0),
          gaveUp: runs.reduce((sum, run) => sum + run.gaveUp, 0),
          retriesPerSuccess: summarize(runs.map((run) => run.retriesPerSuccess)).median,
        });
      }
      settings.push({ workers, rows, label, results });
    }
  }
  return settings;
}

/** Throughput of `method` over `baseline`'s on one setting. */
export function throughputRatio(setting: Setting, method: ContendedMethod, baseline: ContendedMethod): number {
  return setting.results.get(method)!.speed.median / setting.results.get(baseline)!.speed.median;
}

/** Table rows: one per setting and method, throughput also as a ratio to `baseline`'s. */
export function contendedRows(settings: Setting[], baseline: ContendedMethod): string[][] {
  return settings.flatMap((setting) =>
    [...setting.results].map(([method, { speed, lost, gaveUp, retriesPerSuccess }]) => [
      setting.label,
      method.name,
      `${Math.round(speed.median)} (${Math.round(speed.p25)}–${Math.round(speed.p75)})`,
      times(throughputRatio(setting, method, baseline)),
      Number.isNaN(retriesPerSuccess) ? "—" : retriesPerSuccess.toFixed(2),
      String(gaveUp),
      lost > 0 ? `**${lost}**` : String(lost),
    ]),
  );
}

export const contendedHeaders = (baseline: string) => [
  "Workers / rows",
  "Method",
  "Acknowledged increments/s",
  `vs ${baseline}`,
  "Retries per success",
  "Gave up",
  "Lost updates",
];
