import { fork, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { OpRecord } from "./history";
import type { ProcessWorkerConfig } from "./process-worker";

/** Forks a worker process: the compiled .js under `npm run stress`, the .ts (transpiled on load) under Jest. */
export function forkWorker(config: ProcessWorkerConfig): ChildProcess {
  const compiled = __filename.endsWith(".js");
  const script = join(__dirname, compiled ? "process-worker.js" : "process-worker.ts");
  return fork(script, [JSON.stringify(config)], {
    execArgv: compiled ? [] : ["-r", join(__dirname, "register-ts.js")],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
}

/** Resolves with the exit code (or signal) once the child is gone. */
export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once("exit", (code, signal) => resolve({ code, signal }));
  });
}

export function readHistoryFile(file: string): OpRecord[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as OpRecord);
}
