import type { Summary } from "./stats";

/** A target from the project issue, judged on this run. */
export interface Target {
  name: string;
  met: boolean;
  /** The measured figures behind the verdict. */
  detail: string;
  /** When missed: why, and what would fix it. */
  whyAndFix?: string;
}

/** One scenario's part of the report. */
export interface Section {
  title: string;
  /** Markdown: a short explanation and one or more tables. */
  body: string;
  targets: Target[];
}

export function table(headers: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;
  return [line(headers), line(headers.map(() => "---")), ...rows.map(line)].join("\n");
}

/** "412 µs (390–440)": median and interquartile range. */
export function micros(summary: Summary): string {
  const format = (value: number) => (value >= 10000 ? `${(value / 1000).toFixed(1)} ms` : `${Math.round(value)} µs`);
  const bare = (value: number) => (value >= 10000 ? (value / 1000).toFixed(1) : String(Math.round(value)));
  return `${format(summary.median)} (${bare(summary.p25)}–${bare(summary.p75)})`;
}

export function times(value: number): string {
  return `${value.toFixed(2)}×`;
}

export function renderTargets(targets: Target[]): string {
  const rows = targets.map((target) => [target.name, target.met ? "**met**" : "**not met**", target.detail]);
  // Targets missed for the same reason share one explanation.
  const reasons = new Map<string, string[]>();
  for (const target of targets) {
    if (target.met || !target.whyAndFix) continue;
    reasons.set(target.whyAndFix, [...(reasons.get(target.whyAndFix) ?? []), target.name]);
  }
  const misses = [...reasons].map(([why, names]) => `- **${names.join("; ")}**: ${why}`);
  return [
    table(["Target", "Verdict", "Measured"], rows),
    ...(misses.length ? ["", "Why missed, and what would fix it:", "", ...misses] : []),
  ].join("\n");
}
