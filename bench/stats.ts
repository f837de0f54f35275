/** Median and quartiles of a sample (linear interpolation between closest ranks). */
export interface Summary {
  median: number;
  p25: number;
  p75: number;
  n: number;
}

export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
}

export function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  return { median: quantile(sorted, 0.5), p25: quantile(sorted, 0.25), p75: quantile(sorted, 0.75), n: sorted.length };
}

/** Ratio of medians, e.g. typeorm-occ over plain TypeORM. */
export function ratio(value: Summary, baseline: Summary): number {
  return value.median / baseline.median;
}
