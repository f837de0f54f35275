/** Sizes of one run: the full run (under 10 minutes on 2 cores) or `--quick` (about a minute). */
export interface BenchConfig {
  quick: boolean;
  singleSave: { rounds: number; opsPerSample: number };
  aggregate: { rounds: number; opsPerSample: (lines: number) => number; lineCounts: number[] };
  contention: { rounds: number; seconds: number; workers: number[]; rows: number[]; poolSize: number; retries: number };
  /** Scenario 6 (updateIf): rounds and seconds per method and setting; workers, rows and pool from `contention`. */
  calculatedUpdate: { rounds: number; seconds: number };
  /** Scenario 7 (updateVersioned): rounds and seconds per method and setting; workers, rows, pool and retries from `contention`. */
  versionedUpdate: { rounds: number; seconds: number };
  memory: { entities: number; batch: number; repeats: number };
  bulkRemove: { rows: number; sqliteRows: number; rounds: number };
}

export function configFor(quick: boolean): BenchConfig {
  return quick
    ? {
        quick,
        singleSave: { rounds: 12, opsPerSample: 25 },
        aggregate: { rounds: 6, opsPerSample: (lines) => (lines >= 100 ? 3 : 10), lineCounts: [1, 10, 100] },
        contention: { rounds: 2, seconds: 0.6, workers: [8, 32], rows: [1, 100], poolSize: 16, retries: 10 },
        calculatedUpdate: { rounds: 2, seconds: 0.5 },
        versionedUpdate: { rounds: 2, seconds: 0.5 },
        memory: { entities: 10_000, batch: 1000, repeats: 1 },
        bulkRemove: { rows: 5000, sqliteRows: 900, rounds: 3 },
      }
    : {
        quick,
        singleSave: { rounds: 80, opsPerSample: 40 },
        aggregate: { rounds: 20, opsPerSample: (lines) => (lines >= 100 ? 5 : 20), lineCounts: [1, 10, 100] },
        contention: { rounds: 3, seconds: 2, workers: [8, 32], rows: [1, 100], poolSize: 16, retries: 10 },
        calculatedUpdate: { rounds: 3, seconds: 1 },
        versionedUpdate: { rounds: 3, seconds: 1 },
        memory: { entities: 100_000, batch: 1000, repeats: 2 },
        bulkRemove: { rows: 5000, sqliteRows: 900, rounds: 7 },
      };
}
