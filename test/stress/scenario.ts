import type { DataSource } from "typeorm";
import { checkHistory, type CheckReport } from "./checker";
import type { Flavor } from "./entities";
import { History } from "./history";
import { readFinalStates, seedFixtures } from "./workloads/fixtures";
import { replay } from "./workloads/model";
import { runWorker, type Fixtures, type WorkerOptions } from "./workloads/worker";

export interface ScenarioOptions {
  flavor: Flavor;
  /** Seeds the fixtures and reads the final state. */
  admin: DataSource;
  /**
   * One DataSource per worker, or one shared by all (PostgreSQL: a pool). On SQLite each worker
   * needs its own (a better-sqlite3 DataSource is one connection).
   */
  workerSources: DataSource[];
  workers: number;
  opsPerWorker: number;
  counters?: number;
  orders?: number;
  seed?: number;
  worker?: Partial<Omit<WorkerOptions, "worker" | "ops" | "seed">>;
}

export interface ScenarioResult {
  report: CheckReport;
  history: History;
  fixtures: Fixtures;
  durationMs: number;
}

/** Seeds, runs `workers` concurrent clients, reads the final state and checks the history. */
export async function runScenario(options: ScenarioOptions): Promise<ScenarioResult> {
  const history = new History();
  const fixtures = await seedFixtures(
    options.admin,
    options.flavor,
    { counters: options.counters ?? 16, orders: options.orders ?? 6 },
    history,
  );
  const started = Date.now();
  const seed = options.seed ?? 1;
  await Promise.all(
    Array.from({ length: options.workers }, (_, n) =>
      runWorker(
        options.workerSources[n % options.workerSources.length],
        options.flavor,
        fixtures,
        { mode: "mixed", ...options.worker, worker: `w${n}`, ops: options.opsPerWorker, seed: seed * 1000 + n },
        history,
      ),
    ),
  );
  const durationMs = Date.now() - started;
  const report = checkHistory(history.records, await readFinalStates(options.admin, options.flavor), replay);
  return { report, history, fixtures, durationMs };
}
