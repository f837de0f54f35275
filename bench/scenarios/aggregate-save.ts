import type { BenchConfig } from "../config";
import type { BenchDatabase } from "../databases";
import { interleave, type Contender } from "../interleave";
import { progress } from "../progress";
import { micros, table, times, type Section, type Target } from "../report";
import { ratio, summarize } from "../stats";
import { verbs } from "../statement-counter";
import { createLoadedOrder, orderModels } from "./orders";

const updates = (statements: string[]) => statements.filter((sql) => /^\s*UPDATE\b/i.test(sql)).length;

/**
 * Scenario 3: a loaded root with N lines, one line changed, save(root). typeorm-occ must bump the
 * root with exactly one extra UPDATE, whatever N.
 */
export async function aggregateSave(db: BenchDatabase, config: BenchConfig): Promise<Section> {
  const manager = db.dataSource.manager;
  const rows: string[][] = [];
  const extras: string[] = [];
  let allOneExtraUpdate = true;

  for (const lines of config.aggregate.lineCounts) {
    progress(`aggregate save on ${db.driver}, root + ${lines} lines`);
    const orders = await Promise.all(orderModels.map((model) => createLoadedOrder(manager, model, lines)));
    let turn = 0;
    const contenders: Contender[] = orderModels.map((model, index) => ({
      name: model.name,
      run: async () => {
        const order = orders[index];
        order.lines[turn++ % lines].quantity++;
        await manager.save(order);
      },
    }));
    const [plainSql, occSql] = [await db.counter.capture(contenders[0].run), await db.counter.capture(contenders[1].run)];
    const samples = await interleave(contenders, { rounds: config.aggregate.rounds, opsPerSample: config.aggregate.opsPerSample(lines) });
    const [plainTime, occTime] = contenders.map((contender) => summarize(samples.get(contender.name)!));

    const extraStatements = occSql.length - plainSql.length;
    const extraUpdates = updates(occSql) - updates(plainSql);
    const exact = extraStatements === 1 && extraUpdates === 1;
    allOneExtraUpdate &&= exact;
    extras.push(`N=${lines}: +${extraStatements} statement(s), +${extraUpdates} UPDATE(s)`);
    rows.push([
      String(lines),
      micros(plainTime),
      micros(occTime),
      times(ratio(occTime, plainTime)),
      `${plainSql.length} / ${occSql.length}`,
      `${exact ? "" : "**"}+${extraStatements} (${extraUpdates} UPDATE)${exact ? "" : "**"}`,
    ]);
    if (lines === config.aggregate.lineCounts[0]) {
      extras.push(`plain sends ${verbs(plainSql)}; typeorm-occ sends ${verbs(occSql)}`);
    }
  }

  const body = [
    `${config.aggregate.rounds} interleaved rounds; time per save(root), median (p25–p75). Plain = same tables with TypeORM's @VersionColumn and no @AggregateRoot.`,
    "",
    table(["Lines (N)", "plain TypeORM", "typeorm-occ", "occ / plain", "Statements plain / occ", "Extra"], rows),
    "",
    extras.map((line) => `- ${line}`).join("\n"),
  ].join("\n");
  const target: Target = {
    name: `Aggregate save on ${db.driver}: exactly one extra UPDATE when only children change, whatever N`,
    met: allOneExtraUpdate,
    detail: extras.filter((line) => line.startsWith("N=")).join("; "),
    whyAndFix: allOneExtraUpdate
      ? undefined
      : "the root's version is not bumped by exactly one UPDATE when only a line changes; @AggregateRoot's root bump (src/persistence-hook.ts rootsToBump/bumpRoot) must issue one version-checked UPDATE of the root per save.",
  };
  return { title: `3. Aggregate save, one line changed — ${db.version}`, body, targets: [target] };
}
