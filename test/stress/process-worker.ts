import "reflect-metadata";
import { appendFileSync } from "node:fs";
import { DataSource, type EntityTarget } from "typeorm";
import { withOptimisticRetry } from "typeorm-occ";
import { occFlavor, plainFlavor, stressEntities, type Flavor } from "./entities";
import { History, type OpRecord } from "./history";
import type { CounterRow } from "./workloads/model";
import { isConflict, runWorker, type Fixtures, type WorkerOptions } from "./workloads/worker";

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

/**
 * Opens a write transaction that adds 1000 to the hot counter and leaves it uncommitted; on failure
 * it is rolled back and its connection released, so the caller can try again.
 */
async function openHeldWrite(dataSource: DataSource, flavor: Flavor, id: number): Promise<{ versionRead: number; value: number }> {
  const Counter = flavor.Counter as EntityTarget<CounterRow>;
  const runner = dataSource.createQueryRunner();
  try {
    await runner.startTransaction();
    const counter = await runner.manager.findOneByOrFail(Counter, { id });
    counter.value += 1000; // would be an anomaly if it ever became visible
    await runner.manager.save(Counter, counter);
    return { versionRead: counter.version - 1, value: counter.value };
  } catch (error) {
    if (runner.isTransactionActive) await runner.rollbackTransaction();
    await runner.release();
    throw error;
  }
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2]) as ProcessWorkerConfig;
  const flavor = config.flavor === "occ" ? occFlavor : plainFlavor;
  // One process, one connection, one client: a blocking busy timeout stalls nobody else here.
  const dataSource = new DataSource({
    type: "better-sqlite3",
    database: config.database,
    enableWAL: true,
    timeout: 10000,
    entities: stressEntities,
  });
  await dataSource.initialize();
  const history = new FileHistory(config.historyFile);
  const hold = config.holdAfter;
  await runWorker(
    dataSource,
    flavor,
    config.fixtures,
    {
      ...config.worker,
      afterOp:
        hold === undefined
          ? undefined
          : async (index) => {
              if (index + 1 !== hold) return;
              // Like every workload operation, the held write reads before it writes, and SQLite cannot make
              // such a transaction wait for the write lock: while another process holds it, or once that one
              // committed after our read, it refuses at once (SQLITE_BUSY / SQLITE_BUSY_SNAPSHOT; the busy
              // timeout only covers a transaction that has not read yet). So it is retried the same way.
              const holding = await withOptimisticRetry(() => openHeldWrite(dataSource, flavor, config.fixtures.hotCounter), {
                retries: config.worker.retries ?? 30,
                baseDelayMs: 1,
                maxDelayMs: 20,
                retryOn: isConflict,
              });
              process.send?.({ holding });
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
