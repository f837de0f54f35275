import type { BenchConfig } from "../config";
import type { BenchDatabase } from "../databases";
import { interleave, type Contender } from "../interleave";
import { progress } from "../progress";
import { micros, table, times, type Section, type Target } from "../report";
import { ratio, summarize } from "../stats";
import { verbs } from "../statement-counter";
import { createLoadedOrder, orderModels } from "./orders";

/** Issue 16: with this many loaded lines, one changed, save(root) sends no more statements than plain TypeORM. */
const TARGET_LINES = 10;

/**
 * Scenario 3: a loaded root with N lines, one line changed, save(root): time and statements,
 * plain TypeORM vs typeorm-occ (which also bumps the root's version).
 */
export async function aggregateSave(db: BenchDatabase, config: BenchConfig): Promise<Section> {
  const manager = db.dataSource.manager;
  const rows: string[][] = [];
  const sequences: string[] = [];
  let target: Target | undefined;

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

    rows.push([
      String(lines),
      micros(plainTime),
      micros(occTime),
      times(ratio(occTime, plainTime)),
      `${plainSql.length} / ${occSql.length}`,
    ]);
    sequences.push(`N=${lines}: plain TypeORM sends ${verbs(plainSql)}; typeorm-occ sends ${verbs(occSql)}`);
    if (lines === TARGET_LINES) {
      const met = occSql.length <= plainSql.length;
      target = {
        name: `Aggregate save on ${db.driver} (root + ${lines} loaded lines, one changed): no more statements than plain TypeORM`,
        met,
        detail: `typeorm-occ ${occSql.length} (${verbs(occSql)}) vs plain ${plainSql.length} (${verbs(plainSql)})`,
        whyAndFix: met
          ? undefined
          : "the aggregate path still sends statements a plain save does not (see the sequences in scenario 3 and the note in bench/README.md).",
      };
    }
  }

  const body = [
    `${config.aggregate.rounds} interleaved rounds; time per save(root), median (p25–p75). Plain = same tables with TypeORM's @VersionColumn and no @AggregateRoot.`,
    "",
    table(["Lines (N)", "plain TypeORM", "typeorm-occ", "occ / plain", "Statements plain / occ"], rows),
    "",
    sequences.map((line) => `- ${line}`).join("\n"),
  ].join("\n");
  return { title: `3. Aggregate save, one line changed — ${db.version}`, body, targets: target ? [target] : [] };
}
