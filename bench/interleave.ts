/** One side of a comparison: `run()` performs one operation. */
export interface Contender {
  name: string;
  run(): Promise<void>;
}

export interface InterleaveOptions {
  /** Measured rounds; each round times every contender once, in turn (A B C A B C …). */
  rounds: number;
  /** Operations per sample; a sample is their mean time. */
  opsPerSample: number;
  /** Unmeasured rounds first, to warm the JIT, caches and connections. */
  warmupRounds?: number;
}

/**
 * Times contenders in alternation, so drift (CPU frequency, autovacuum, WAL checkpoints) hits all
 * of them alike. The order rotates every round so no contender always runs right after another.
 * Returns, per contender, one sample per round in microseconds per operation.
 */
export async function interleave(contenders: Contender[], options: InterleaveOptions): Promise<Map<string, number[]>> {
  const samples = new Map<string, number[]>(contenders.map((contender) => [contender.name, []]));
  const warmup = options.warmupRounds ?? 2;
  for (let round = 0; round < warmup + options.rounds; round++) {
    for (let turn = 0; turn < contenders.length; turn++) {
      const contender = contenders[(round + turn) % contenders.length];
      const start = process.hrtime.bigint();
      for (let op = 0; op < options.opsPerSample; op++) await contender.run();
      const micros = Number(process.hrtime.bigint() - start) / 1000 / options.opsPerSample;
      if (round >= warmup) samples.get(contender.name)!.push(micros);
    }
  }
  return samples;
}
