import "reflect-metadata";
import { appendFileSync } from "node:fs";
import { DataSource, type EntityTarget } from "typeorm";
import { occFlavor, plainFlavor, stressEntities } from "./entities";
import { History, type OpRecord } from "./history";
import type { CounterRow } from "./workloads/model";
import { runWorker, type Fixtures, type WorkerOptions } from "./workloads/worker";

/** What the parent passes (as JSON in argv[2]) to a worker process on a shared SQLite file. */
export interface ProcessWorkerConfig {
  database: string;
  flavor: "occ" | "plain";
  fixtures: Fixtures;
  worker: Omit<WorkerOptions, "afterOp">;
  /** Appends each record as one JSON line, synchronously, so it survives the process being killed. */
  historyFile: string;
  /**
   * Fault injection: after this many operations, open a write transaction on the hot counter, tell
   * the parent ("holding"), and wait to be killed.
   */
  holdAfter?: number;
}

/** A history that also lands on disk line by line. */
class FileHistory extends History {
  constructor(private readonly file: string) {
    super();
  }
  override record(entry: OpRecord): void {
    super.record(entry);
    appendFileSync(this.file, `${JSON.stringify(entry)}\n`);
  }
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2]) as ProcessWorkerConfig;
  const flavor = config.flavor === "occ" ? occFlavor : plainFlavor;
  // One process, one connection, one client: a blocking busy timeout stalls nobody else here.
  const dataSource = new DataSource({ type: "better-sqlite3", database: config.database, enableWAL: true, timeout: 10000, entities: stressEntities });
  await dataSource.initialize();
  const history = new FileHistory(config.historyFile);
  const hold = config.holdAfter;
  await runWorker(
    dataSource,
    flavor,
    config.fixtures,
    {
      ...config.worker,
      afterOp: hold === undefined ? undefined : async (index) => {
        if (index + 1 !== hold) return;
        const counters = dataSource.getRepository(flavor.Counter as EntityTarget<CounterRow>);
        const runner = dataSource.createQueryRunner();
        await runner.startTransaction();
        const counter = await runner.manager.findOneByOrFail(flavor.Counter as EntityTarget<CounterRow>, { id: config.fixtures.hotCounter });
        counter.value += 1000; // would be an anomaly if it ever became visible
        await runner.manager.save(counters.target, counter);
        process.send?.({ holding: { versionRead: counter.version - 1, value: counter.value } });
        await new Promise(() => {}); // keep the transaction open until SIGKILL
      },
    },
    history,
  );
  await dataSource.destroy();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
