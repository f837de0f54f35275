/** Sizes of one run: the full run (about 12 minutes on 2 cores) or `--quick` (about a minute). */
export interface BenchConfig {
  quick: boolean;
  /** Scenarios 1 and 6, one operation alone: interleaved rounds × operations per sample. */
  alone: { rounds: number; opsPerSample: number };
  aggregate: { rounds: number; opsPerSample: (lines: number) => number; lineCounts: number[] };
  /** Scenarios 4 and 6: rounds of `seconds` per method and setting (workers × hot rows). */
  contention: { rounds: number; seconds: number; workers: number[]; rows: number[]; poolSize: number; retries: number };
  memory: { entities: number; batch: number; repeats: number };
  bulkRemove: { rows: number; sqliteRows: number; rounds: number };
}

export function configFor(quick: boolean): BenchConfig {
  return quick
    ? {
        quick,
        alone: { rounds: 12, opsPerSample: 25 },
        aggregate: { rounds: 6, opsPerSample: (lines) => (lines >= 100 ? 3 : 10), lineCounts: [1, 10, 100] },
        contention: { rounds: 2, seconds: 0.5, workers: [8, 32], rows: [1, 100], poolSize: 16, retries: 10 },
        memory: { entities: 10_000, batch: 1000, repeats: 1 },
        bulkRemove: { rows: 5000, sqliteRows: 900, rounds: 3 },
      }
    : {
        quick,
        alone: { rounds: 80, opsPerSample: 40 },
        aggregate: { rounds: 20, opsPerSample: (lines) => (lines >= 100 ? 5 : 20), lineCounts: [1, 10, 100] },
        contention: { rounds: 3, seconds: 1, workers: [8, 32], rows: [1, 100], poolSize: 16, retries: 10 },
        memory: { entities: 100_000, batch: 1000, repeats: 2 },
        bulkRemove: { rows: 5000, sqliteRows: 900, rounds: 7 },
      };
}
