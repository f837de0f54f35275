/**
 * `npm run bench [-- --quick] [-- --only=bulk-remove,…]`: typeorm-occ against plain TypeORM, Drizzle and
 * the raw drivers on PostgreSQL, SQLite and MariaDB (when MARIADB_URL is set). Progress goes to stderr; the report to stdout and bench/results/<date>.md.
 */
import "reflect-metadata";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { configFor } from "./config";
import { openMariadb, openPostgres, openSqlite, startPostgres, type BenchDatabase } from "./databases";
import { machineInfo } from "./machine";
import { progress } from "./progress";
import { renderTargets, type Section } from "./report";
import { aggregateSave } from "./scenarios/aggregate-save";
import { bulkRemove } from "./scenarios/bulk-remove";
import { calculatedUpdate } from "./scenarios/calculated-update";
import { contendedCounter } from "./scenarios/contended-counter";
import { memory } from "./scenarios/memory";
import { readModifyWrite } from "./scenarios/read-modify-write";
import { replicas } from "./scenarios/replicas";
import { statementsPerOperation } from "./scenarios/statements";

/**
 * `--only=<text>[,<text>…]`: run only the scenarios whose title contains one of them, case and
 * punctuation aside (`--only=updateIf`, `--only=bulk-remove,single-save`); the report says so.
 */
const only = process.argv
  .find((arg) => arg.startsWith("--only="))
  ?.slice("--only=".length)
  .split(",")
  .map((text) => comparable(text))
  .filter(Boolean);

function comparable(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, " ")
    .trim();
}

const wanted = (title: string) => !only || only.some((text) => comparable(title).includes(text));

/** A failed scenario is reported as such, and the others still run; one left out by --only is undefined. */
async function attempt(title: string, scenario: () => Promise<Section>): Promise<Section | undefined> {
  if (!wanted(title)) return undefined;
  try {
    return await scenario();
  } catch (error) {
    progress(`${title} FAILED: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
    process.exitCode = 1;
    return { title, body: `**Failed:** \`${String(error instanceof Error ? error.message.split("\n")[0] : error)}\``, targets: [] };
  }
}

async function main(): Promise<void> {
  const quick = process.argv.includes("--quick");
  const config = configFor(quick);
  const started = Date.now();
  progress(`${quick ? "quick" : "full"} run${only ? ` of ${only.join(", ")}` : ""}`);

  const server = await startPostgres();
  const databases: BenchDatabase[] = [];
  const sections: Array<Section | undefined> = [];
  try {
    databases.push(await openPostgres(server.url), await openSqlite());
    if (process.env.MARIADB_URL) databases.push(await openMariadb(process.env.MARIADB_URL));
    else progress("MARIADB_URL not set: MariaDB left out");
    for (const db of databases) sections.push(await attempt(`1. Read-modify-write — ${db.driver}`, () => readModifyWrite(db, config)));
    for (const db of databases)
      sections.push(await attempt(`2. Statements per operation — ${db.driver}`, () => statementsPerOperation(db)));
    for (const db of databases) sections.push(await attempt(`3. Aggregate save — ${db.driver}`, () => aggregateSave(db, config)));
    for (const db of databases)
      sections.push(await attempt(`4. Contended read-modify-write — ${db.driver}`, () => contendedCounter(db, config)));
    sections.push(await attempt("5. Memory — peak RSS", () => memory(config)));
    for (const db of databases)
      sections.push(await attempt(`6. Atomic increment (updateIf) — ${db.driver}`, () => calculatedUpdate(db, config)));
    for (const db of databases) sections.push(await attempt(`7. Bulk remove — ${db.driver}`, () => bulkRemove(db, config)));
    sections.push(await attempt("8. Replicas — PostgreSQL primary + streaming replica", () => replicas(config)));
  } finally {
    for (const db of databases) await db.close();
    await server.stop();
  }

  const ran = sections.filter((section): section is Section => section !== undefined);
  const minutes = ((Date.now() - started) / 60000).toFixed(1);
  const date = new Date().toISOString().slice(0, 10);
  const report = [
    `# typeorm-occ benchmark — ${date}${quick ? " (quick run)" : ""}${only ? ` (only ${only.join(", ")})` : ""}`,
    "",
    `Run with \`npm run bench${quick ? " -- --quick" : ""}\` in ${minutes} min. Times: median (p25–p75). Ratios: median over the named baseline's median (time: < 1 is faster; throughput: > 1 is faster).`,
    "",
    "## Machine",
    "",
    ...machineInfo(databases.map((db) => db.version)),
    "",
    "## Targets",
    "",
    renderTargets(ran.flatMap((section) => section.targets)),
    "",
    ...ran.flatMap((section) => [`## ${section.title}`, "", section.body, ""]),
  ].join("\n");

  process.stdout.write(`${report}\n`);
  const directory = resolve(__dirname, "../../bench/results");
  mkdirSync(directory, { recursive: true });
  const file = join(
    directory,
    `${date}${only ? `-only-${only.map((text) => text.replace(/ /g, "-")).join("-")}` : ""}${quick ? "-quick" : ""}.md`,
  );
  writeFileSync(file, `${report}\n`);
  progress(`wrote ${file}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
