import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import type { BenchConfig } from "../config";
import { progress } from "../progress";
import { table, times, type Section, type Target } from "../report";
import { summarize } from "../stats";

interface ChildResult {
  maxRssKiB: number;
  vmHwmKiB?: number;
  baselineKiB: number;
  seconds: number;
}

const run = promisify(execFile);

async function child(variant: "plain" | "occ", count: number, batch: number): Promise<ChildResult> {
  const script = join(__dirname, "..", "memory-child.js");
  const { stdout } = await run(process.execPath, [script, variant, String(count), String(batch)], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout) as ChildResult;
}

const mib = (kib: number) => `${(kib / 1024).toFixed(0)} MiB`;

/** Issue 16: typeorm-occ's peak RSS ≤ this × plain TypeORM's. */
const TARGET_RATIO = 1.1;

/** Scenario 5: peak RSS of a process loading and saving many entities, plain vs typeorm-occ. */
export async function memory(config: BenchConfig): Promise<Section> {
  const { entities, batch, repeats } = config.memory;
  const results = { plain: [] as ChildResult[], occ: [] as ChildResult[] };
  for (let round = 0; round < repeats; round++) {
    for (const variant of round % 2 === 0 ? (["plain", "occ"] as const) : (["occ", "plain"] as const)) {
      progress(`memory: ${variant}, ${entities} entities in batches of ${batch} (run ${round + 1}/${repeats})`);
      results[variant].push(await child(variant, entities, batch));
    }
  }
  const peak = (variant: "plain" | "occ") => summarize(results[variant].map((result) => result.vmHwmKiB ?? result.maxRssKiB)).median;
  const baseline = (variant: "plain" | "occ") => summarize(results[variant].map((result) => result.baselineKiB)).median;
  const seconds = (variant: "plain" | "occ") => summarize(results[variant].map((result) => result.seconds)).median;
  const rows = (["plain", "occ"] as const).map((variant) => [
    variant === "plain" ? "plain TypeORM (typeorm-occ not loaded)" : "typeorm-occ",
    mib(baseline(variant)),
    mib(peak(variant)),
    times(peak(variant) / peak("plain")),
    `${seconds(variant).toFixed(1)} s`,
  ]);
  const body = [
    `${entities.toLocaleString("en-US")} rows inserted (save(), batches of ${batch}), all loaded back with one find(), one column of each changed, save()d in batches of ${batch} (UPDATEs); SQLite file, each variant in its own process; median of ${repeats} run(s). ` +
      "Peak = VmHWM from /proc/self/status (process.resourceUsage().maxRSS elsewhere); baseline = RSS after DataSource.initialize().",
    "",
    table(["Variant", "RSS after start-up", "Peak RSS", "vs plain", "Time"], rows),
  ].join("\n");
  const peakRatio = peak("occ") / peak("plain");
  const target: Target = {
    name: `Memory: peak RSS loading and saving ${entities.toLocaleString("en-US")} entities ≤ ${TARGET_RATIO}× plain TypeORM's`,
    met: peakRatio <= TARGET_RATIO,
    detail: `${times(peakRatio)} plain (${mib(peak("occ"))} vs ${mib(peak("plain"))})`,
    whyAndFix:
      peakRatio <= TARGET_RATIO
        ? undefined
        : "what typeorm-occ keeps per loaded copy outweighs the entity itself (see the note in bench/README.md).",
  };
  return { title: "5. Memory — peak RSS", body, targets: [target] };
}
