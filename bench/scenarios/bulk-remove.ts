import type { EntityManager, EntityTarget } from "typeorm";
import type { BenchConfig } from "../config";
import type { BenchDatabase } from "../databases";
import { OccItem, PlainItem } from "../entities";
import { progress } from "../progress";
import { micros, table, times, type Section, type Target } from "../report";
import { ratio, summarize } from "../stats";
import { verbs } from "../statement-counter";

const TARGET_RATIO = 1.2;

interface Item {
  id: number;
  name: string;
  counter: number;
  version: number;
}

const models: { name: string; target: EntityTarget<Item> }[] = [
  { name: "plain TypeORM", target: PlainItem },
  { name: "typeorm-occ", target: OccItem },
];

/** Inserts `rows` rows (untimed) and loads them back, as an application would before removing them. */
async function loadedRows(manager: EntityManager, target: EntityTarget<Item>, rows: number): Promise<Item[]> {
  const created = Array.from({ length: rows }, (_, n) => manager.create(target, { name: `row ${n}`, counter: n }));
  for (let start = 0; start < rows; start += 1000) await manager.save(target, created.slice(start, start + 1000));
  const edited = created.filter((_, n) => n % 25 === 0);
  for (const item of edited) item.counter++;
  await manager.save(target, edited);
  return manager.findBy(target, {});
}

/**
 * Scenario 8: `remove(rows)` of N loaded versioned rows in one call. Plain TypeORM sends one
 * `DELETE … WHERE id IN (…)`; typeorm-occ checks every row's version in the same statement(s).
 * Each sample removes a fresh set of rows; only the remove() is timed.
 */
export async function bulkRemove(db: BenchDatabase, config: BenchConfig): Promise<Section> {
  const manager = db.dataSource.manager;
  const { rounds } = config.bulkRemove;
  // Plain TypeORM loads and deletes by `id = ? OR id = ? …`, which SQLite refuses past about 1,000
  // rows ("Expression tree is too large"): the comparison there stays under that.
  const rows = db.driver === "sqlite" ? config.bulkRemove.sqliteRows : config.bulkRemove.rows;
  progress(`bulk remove on ${db.driver}, ${rows} rows × ${rounds} rounds`);
  const samples = new Map<string, number[]>(models.map((model) => [model.name, []]));
  const statements = new Map<string, string[]>();
  // Earlier scenarios leave rows in these tables; each sample loads and removes the whole table.
  for (const model of models) await manager.clear(model.target);

  for (let round = 0; round < rounds + 1; round++) {
    for (let turn = 0; turn < models.length; turn++) {
      const model = models[(round + turn) % models.length]; // alternate who goes first
      const loaded = await loadedRows(manager, model.target, rows);
      const start = process.hrtime.bigint();
      const sent = await db.counter.capture(() => manager.remove(model.target, loaded));
      const elapsed = Number(process.hrtime.bigint() - start) / 1000;
      if (round === 0)
        statements.set(model.name, sent); // the first round warms up, untimed
      else samples.get(model.name)!.push(elapsed);
      if ((await manager.countBy(model.target, {})) !== 0) throw new Error(`${model.name} left rows behind after remove()`);
    }
  }

  const [plainTime, occTime] = models.map((model) => summarize(samples.get(model.name)!));
  const occRatio = ratio(occTime, plainTime);
  const rowsOf = (model: string) => {
    const sent = statements.get(model)!;
    return [sent.length, verbs(sent.length > 8 ? [...sent.slice(0, 4), "…", ...sent.slice(-3)] : sent)];
  };
  const body = [
    `${rounds} rounds, contenders alternating; time per \`remove(rows)\` of ${rows} loaded rows (every 25th saved twice, so at two versions), median (p25–p75).` +
      (db.driver === "sqlite"
        ? ` ${config.bulkRemove.rows} rows: plain TypeORM's \`id = ? OR …\` is refused by SQLite past about 1,000 rows.`
        : ""),
    "",
    table(
      ["Contender", "Time per remove", "vs plain TypeORM", "Statements", "Verbs"],
      [
        ["plain TypeORM", micros(plainTime), times(1), ...rowsOf("plain TypeORM")],
        ["typeorm-occ", micros(occTime), times(occRatio), ...rowsOf("typeorm-occ")],
      ],
    ),
  ].join("\n");
  const met = occRatio <= TARGET_RATIO;
  const target: Target = {
    name: `Bulk remove of ${rows} rows on ${db.driver}: ≤ ${TARGET_RATIO}× plain`,
    met,
    detail: `${times(occRatio)} plain (${(occTime.median / 1000).toFixed(0)} vs ${(plainTime.median / 1000).toFixed(0)} ms)`,
    whyAndFix: met
      ? undefined
      : "the version-checked DELETE (src/persistence/versioned-writes.ts checkedDelete) costs more than TypeORM's `id IN (…)`: look at the statement shape the database plans slowly, and at the statements per chunk.",
  };
  return { title: `7. Bulk remove of ${rows} rows — ${db.version}`, body, targets: [target] };
}
