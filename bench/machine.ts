import { cpus, platform, release, totalmem } from "node:os";

/** The machine a run was taken on, for the results file. */
export function machineInfo(databaseVersions: string[]): string[] {
  const processors = cpus();
  return [
    `- OS: ${platform()} ${release()}`,
    `- CPU: ${processors[0]?.model ?? "unknown"} × ${processors.length}`,
    `- Memory: ${(totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    `- Node: ${process.version}`,
    ...databaseVersions.map((version) => `- ${version}`),
  ];
}
