import type { DataSource } from "typeorm";
import { increment, isRetryableConflict, isSqliteBusy, updateIf, withOptimisticRetry } from "typeorm-occ";
import type { BenchConfig } from "../config";
import { openMariadb, type BenchDatabase } from "../databases";
import { OccItem, PlainItem } from "../entities";
import { interleave, type Contender } from "../interleave";
import { progress } from "../progress";
import { micros, table, times, type Section, type Target } from "../report";
import { ratio, summarize, type Summary } from "../stats";
import { rawCounter, type RawCounter } from "./raw-counter";

const TARGET_RATIO = 0.9;

interface Method {
  name: string;
  table: "occ_item" | "plain_item";
  /** One increment; resolves true when it was acknowledged. */
  increment(id: number): Promise<boolean>;
}

interface Outcome {
  perSecond: number;
  lost: number;
}

/**
 * Scenario 6, per database (PostgreSQL, SQLite, and MariaDB when MARIADB_URL is set): `updateIf`
 * with `increment(1)` — one calculated statement, nothing read — against one raw
 * `SET counter = counter + 1` statement, alone (latency) and under contention (throughput), beside
 * the read-modify-write contenders. `run` is the bench's `attempt` wrapper, so a failing database
 * is reported and the others still run.
 */
export async function calculatedUpdates(
  databases: BenchDatabase[],
  config: BenchConfig,
  run: (title: string, scenario: () => Promise<Section>) => Promise<Section | undefined>,
): Promise<Array<Section | undefined>> {
  const all = [...databases];
  let mariadb: BenchDatabase | undefined;
  if (process.env.MARIADB_URL) all.push((mariadb = await openMariadb(process.env.MARIADB_URL)));
  try {
    const sections: Array<Section | undefined> = [];
    for (const db of all) sections.push(await run(`6. Calculated update (updateIf) — ${db.driver}`, () => calculatedUpdate(db, config)));
    if (!mariadb && sections.some(Boolean)) sections.push({ title: "6. Calculated update (updateIf) — mariadb", body: "Skipped: set MARIADB_URL to include MariaDB.", targets: [] });
    return sections;
  } finally {
    await mariadb?.close();
  }
}

async function calculatedUpdate(db: BenchDatabase, config: BenchConfig): Promise<Section> {
  const { poolSize, retries, workers, rows } = config.contention;
  const { rounds, seconds } = config.calculatedUpdate;
  const dataSource = db.driver === "sqlite" ? db.dataSource : await db.open({ poolSize });
  const raw = await rawCounter(db, "occ_item", poolSize);
  try {
    const latency = await singleOp(db, dataSource, raw, config);
    const methods = contenders(dataSource, raw, retries, db.driver);
    const tableRows: string[][] = [];
    const ratios: string[] = [];
    let worst = Infinity;
    let updateIfLost = 0;
    for (const hotRows of rows) {
      for (const workerCount of workers) {
        const label = `${workerCount} / ${hotRows === 1 ? "1 hot row" : `${hotRows} rows`}`;
        progress(`calculated update on ${db.driver}: ${label}`);
        const outcomes = new Map<Method, Outcome[]>(methods.map((method) => [method, []]));
        for (let round = 0; round < rounds; round++) {
          for (let turn = 0; turn < methods.length; turn++) {
            const method = methods[(round + turn) % methods.length];
            outcomes.get(method)!.push(await runOnce(dataSource, method, workerCount, hotRows, seconds));
          }
        }
        const speed = new Map<Method, Summary>(methods.map((method) => [method, summarize(outcomes.get(method)!.map((o) => o.perSecond))]));
        const rawSpeed = speed.get(methods[1])!.median;
        for (const method of methods) {
          const summary = speed.get(method)!;
          const lost = outcomes.get(method)!.reduce((total, o) => total + o.lost, 0);
          tableRows.push([label, method.name, `${Math.round(summary.median)} (${Math.round(summary.p25)}–${Math.round(summary.p75)})`, times(summary.median / rawSpeed), lost > 0 ? `**${lost}**` : String(lost)]);
        }
        const updateIfRatio = speed.get(methods[0])!.median / rawSpeed;
        worst = Math.min(worst, updateIfRatio);
        updateIfLost += outcomes.get(methods[0])!.reduce((total, o) => total + o.lost, 0);
        ratios.push(`${label}: ${times(updateIfRatio)}`);
      }
    }

    const met = worst >= TARGET_RATIO && updateIfLost === 0;
    const target: Target = {
      name: `Contended counter on ${db.driver}: updateIf ≥ ${TARGET_RATIO}× a raw SET n = n + 1 loop, zero lost updates`,
      met,
      detail: `lost ${updateIfLost}; updateIf vs raw ${ratios.join(", ")}; single op ${times(latency.ratio)} one raw statement`,
      whyAndFix: met
        ? undefined
        : updateIfLost > 0
          ? "acknowledged increments are missing from the counters: updateIf reported a row it did not change; a correctness bug."
          : "both send the same single UPDATE, so the gap is the client's CPU per statement: TypeORM's update builder (SQL text, property paths, parameter escaping) and the checks before it, on a 2-core machine that also runs the database; " +
            "it weighs most where a statement is cheapest (no lock wait to hide it). What would close it: cache the built SQL per entity and change shape (the statement differs only in its parameters), or build it once without the query builder.",
    };

    const body = [
      `One statement per increment, no read: \`updateIf(items, { id }, { counter: increment(1) })\` (adds \`version = version + 1\`) against a raw \`UPDATE occ_item SET counter = counter + 1, version = version + 1 WHERE id = ?\` over the driver (${db.driver === "sqlite" ? "a prepared better-sqlite3 statement" : `a pool of ${poolSize}`}).`,
      "",
      `Single operation, no contention: ${config.singleSave.rounds} interleaved rounds × ${config.singleSave.opsPerSample} increments of one row.`,
      "",
      table(["Contender", "Time per increment", "vs raw statement"], latency.rows),
      "",
      `Contended counter: ${rounds} interleaved rounds of ${seconds} s per method and setting, pool ${poolSize}${db.driver === "sqlite" ? " (SQLite: one connection, write units queued by typeorm-occ)" : ""}; ` +
        `save() contenders retry up to ${retries} times. Lost updates = acknowledged increments − growth of the counters, over all rounds.`,
      "",
      table(["Workers / rows", "Method", "Acknowledged increments/s", "vs raw SET n = n + 1", "Lost updates"], tableRows),
    ].join("\n");
    return { title: `6. Calculated update (updateIf) — ${db.version}`, body, targets: [target] };
  } finally {
    await raw.close();
    if (dataSource !== db.dataSource) await dataSource.destroy();
  }
}

async function singleOp(db: BenchDatabase, dataSource: DataSource, raw: RawCounter, config: BenchConfig) {
  progress(`calculated update on ${db.driver}: single operation`);
  const items = dataSource.getRepository(OccItem);
  const [viaUpdateIf, viaRaw] = await items.save([items.create({ name: "updateIf", counter: 0 }), items.create({ name: "raw", counter: 0 })]);
  const contenders: Contender[] = [
    { name: "updateIf(…, { counter: increment(1) })", run: async () => void (await updateIf(items, { id: viaUpdateIf.id }, { counter: increment(1) })) },
    { name: "raw statement (floor)", run: async () => void (await raw.increment(viaRaw.id)) },
  ];
  const samples = await interleave(contenders, config.singleSave);
  const [updateIfTime, rawTime] = contenders.map((contender) => summarize(samples.get(contender.name)!));
  return {
    ratio: ratio(updateIfTime, rawTime),
    rows: [
      [contenders[0].name, micros(updateIfTime), times(ratio(updateIfTime, rawTime))],
      [contenders[1].name, micros(rawTime), "1.00×"],
    ],
  };
}

function contenders(dataSource: DataSource, raw: RawCounter, retries: number, driver: BenchDatabase["driver"]): Method[] {
  const items = dataSource.getRepository(OccItem);
  const retryOn = (error: unknown) => isRetryableConflict(error) || (driver === "sqlite" && isSqliteBusy(error));
  return [
    { name: "updateIf, increment(1)", table: "occ_item", increment: async (id) => (await updateIf(items, { id }, { counter: increment(1) })).affected === 1 },
    { name: "raw SET n = n + 1", table: "occ_item", increment: async (id) => (await raw.increment(id)) === 1 },
    {
      name: "typeorm-occ save() + withOptimisticRetry({ dataSource })",
      table: "occ_item",
      increment: async (id) => {
        try {
          await withOptimisticRetry(
            async (manager) => {
              const item = await manager.findOneByOrFail(OccItem, { id });
              item.counter++;
              await manager.save(item);
            },
            { dataSource, retries, retryOn },
          );
          return true;
        } catch (error) {
          if (!retryOn(error)) throw error;
          return false;
        }
      },
    },
    {
      name: "plain TypeORM read-modify-save (unchecked)",
      table: "plain_item",
      increment: async (id) => {
        const item = await dataSource.manager.findOneByOrFail(PlainItem, { id });
        item.counter++;
        await dataSource.manager.save(item);
        return true;
      },
    },
  ];
}

async function runOnce(dataSource: DataSource, method: Method, workers: number, rows: number, seconds: number): Promise<Outcome> {
  const ids = await freshRows(dataSource, method.table);
  const before = await total(dataSource, method.table);
  let acknowledged = 0;
  const deadline = Date.now() + seconds * 1000;
  const worker = async () => {
    while (Date.now() < deadline) {
      const id = rows === 1 ? ids[0] : ids[Math.floor(Math.random() * Math.min(rows, ids.length))];
      if (await method.increment(id)) acknowledged++;
    }
  };
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: workers }, worker));
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  return { perSecond: acknowledged / elapsed, lost: acknowledged - ((await total(dataSource, method.table)) - before) };
}

/** 100 rows at counter 0; their ids. Plain SQL: setup, not one of the writes under test. */
export async function freshRows(dataSource: DataSource, tableName: Method["table"]): Promise<number[]> {
  await dataSource.query(`DELETE FROM ${tableName}`);
  const values = Array.from({ length: 100 }, (_, i) => `('row ${i}', 0, 1)`).join(", ");
  await dataSource.query(`INSERT INTO ${tableName} (name, counter, version) VALUES ${values}`);
  const rows = (await dataSource.query(`SELECT id FROM ${tableName} ORDER BY id`)) as Array<{ id: number | string }>;
  return rows.map((row) => Number(row.id));
}

export async function total(dataSource: DataSource, tableName: Method["table"]): Promise<number> {
  const [{ sum }] = (await dataSource.query(`SELECT COALESCE(SUM(counter), 0) AS sum FROM ${tableName}`)) as Array<{ sum: string | number }>;
  return Number(sum);
}
