import { cpus, loadavg, platform, release, totalmem } from "node:os";

/** Taken when this module loads, i.e. when the run starts. */
const loadAtStart = loadavg();

/** The machine a run was taken on, for the results file. */
export function machineInfo(databaseVersions: string[]): string[] {
  const processors = cpus();
  return [
    `- OS: ${platform()} ${release()}`,
    `- CPU: ${processors[0]?.model ?? "unknown"} × ${processors.length}`,
    `- Memory: ${(totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    `- Node: ${process.version}`,
    `- Load average (1 min) at start / end: ${loadAtStart[0].toFixed(2)} / ${loadavg()[0].toFixed(2)} (other work on the machine widens the spreads)`,
    ...databaseVersions.map((version) => `- ${version}`),
  ];
}
