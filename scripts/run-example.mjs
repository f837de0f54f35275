#!/usr/bin/env node
/**
 * Runs one example (`npm run example` = wallet, `npm run example:api` = orders-api):
 *
 *   node scripts/run-example.mjs <wallet|orders-api>
 *
 * The examples import the library by its package name (`typeorm-occ`), which Node resolves to
 * this package's own dist/ (a package may require itself through its `exports`). So examples/
 * and src/ (only those, not the tests or the benchmarks) are compiled with tsconfig.examples.json
 * into dist/, incrementally (type-checked, with decorator metadata), and only when a source file
 * is newer than the last compile; then the example runs in this process.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync, utimesSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const project = join(dirname(fileURLToPath(import.meta.url)), "..");
const EXAMPLES = ["wallet", "orders-api"];
const example = process.argv[2];
if (!EXAMPLES.includes(example)) {
  console.error(`usage: node scripts/run-example.mjs <${EXAMPLES.join("|")}>`);
  process.exit(2);
}

const buildInfo = join(project, "dist/examples.tsbuildinfo");
const main = join(project, "dist/examples", example, "main.js");
/** What the compile reads: the sources and the settings. */
const INPUTS = ["src", "decorators", "examples", "tsconfig.json", "tsconfig.examples.json", "package.json"];

function newestChange(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path).reduce((newest, entry) => Math.max(newest, newestChange(join(path, entry))), stat.mtimeMs);
}

const compiledAt = existsSync(buildInfo) && existsSync(main) ? statSync(buildInfo).mtimeMs : -1;
if (INPUTS.some((input) => newestChange(join(project, input)) > compiledAt)) {
  console.error("compiling src/ and examples/ (tsc -p tsconfig.examples.json, incremental)…");
  const started = new Date();
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  const { status } = spawnSync(process.execPath, [tsc, "-p", join(project, "tsconfig.examples.json")], { cwd: project, stdio: "inherit" });
  if (status !== 0) process.exit(status ?? 1);
  // tsc leaves the build info alone when nothing changed; date it to this compile's start, so a
  // file saved while tsc ran still counts as newer next time.
  utimesSync(buildInfo, started, started);
}

createRequire(import.meta.url)(main);
