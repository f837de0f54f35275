#!/usr/bin/env node
/**
 * Runs the test suite against another TypeORM version without touching this project's
 * node_modules or lockfile:
 *
 *   npm run test:typeorm -- <version|range|tag> [jest arguments…]
 *   npm run test:typeorm -- 0.3.31
 *   npm run test:typeorm -- latest test/core
 *
 * It copies the project and its node_modules into a temporary directory, installs the given
 * TypeORM there (`npm install --no-save`), typechecks the project against that TypeORM's types
 * (`tsc --noEmit`), and runs jest with `--no-cache` (ts-jest's cache would otherwise reuse files
 * compiled against the other TypeORM). The databases are the suite's usual ones: DATABASE_URL
 * (else an embedded PostgreSQL), SQLite, and MariaDB when MARIADB_URL is set. A TypeORM outside
 * the verified range is run with TYPEORM_OCC_UNVERIFIED_TYPEORM set to it, so the report shows
 * what works there (the range test in test/internals fails, as it should).
 *
 * Options: --keep keeps the temporary copy (its path is printed). Exit code: jest's, or 1 when
 * the install or the typecheck failed.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const project = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const keep = args.includes("--keep");
const [spec, ...jestArgs] = args.filter((arg) => arg !== "--keep");
if (!spec || spec.startsWith("-")) {
  console.error("usage: npm run test:typeorm -- <typeorm version, range or tag> [jest arguments…] [--keep]");
  process.exit(2);
}

// Build output, caches and the database files of earlier runs are not part of the project.
const SKIPPED = new Set(["node_modules", "dist", ".git", "coverage", ".occ-tmp"]);
const work = mkdtempSync(join(tmpdir(), "typeorm-occ-versions-"));
const say = (message) => console.log(`[test:typeorm] ${message}`);
const run = (command, commandArgs, env = process.env) => spawnSync(command, commandArgs, { cwd: work, stdio: "inherit", env }).status ?? 1;

let status;
try {
  say(`copying the project to ${work}`);
  cpSync(project, work, { recursive: true, filter: (source) => !SKIPPED.has(relative(project, source).split(/[\\/]/)[0]) });
  // cp -a keeps node_modules/.bin's relative symlinks (fs.cpSync would point them back at the project).
  execFileSync("cp", ["-a", join(project, "node_modules"), join(work, "node_modules")]);

  const install = ["install", "--no-save", "--no-audit", "--no-fund", `typeorm@${spec}`];
  say(`npm ${install.join(" ")}`);
  if (run("npm", install) !== 0) {
    // TypeORM before 0.3.26 declares better-sqlite3 up to ^9 while the project tests with ^12:
    // a conflict between dev dependencies only, so the suite runs with npm's older peer rules.
    say("strict peer resolution failed; retrying with --legacy-peer-deps (see the ERESOLVE report above)");
    if (run("npm", [...install, "--legacy-peer-deps"]) !== 0) throw new Error(`could not install typeorm@${spec}`);
  }
  const version = JSON.parse(readFileSync(join(work, "node_modules/typeorm/package.json"), "utf8")).version;
  say(`TypeORM ${version} installed`);

  say("typechecking against its types (tsc --noEmit)");
  if (run(process.execPath, [join(work, "node_modules/typescript/bin/tsc"), "--noEmit", "-p", "tsconfig.json"]) !== 0) {
    throw new Error(`the project does not typecheck against TypeORM ${version}`);
  }

  say(`jest --no-cache ${jestArgs.join(" ")}`.trim());
  // A TypeORM outside the verified range runs too (typeorm-occ's opt-in for exactly this version), so
  // the run shows what works on it; test/internals still fails on "runs against a verified TypeORM".
  const env = { ...process.env, TYPEORM_OCC_UNVERIFIED_TYPEORM: version };
  status = run(process.execPath, [join(work, "node_modules/jest/bin/jest.js"), "--no-cache", ...jestArgs], env);
  say(`TypeORM ${version}: jest ${status === 0 ? "passed" : `failed (exit ${status})`} on ${new Date().toISOString().slice(0, 10)}`);
} catch (error) {
  say(error instanceof Error ? error.message : String(error));
  status = 1;
} finally {
  if (keep) say(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
process.exit(status);
