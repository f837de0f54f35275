import type { BenchDatabase } from "../databases";
import { OccItem, PlainItem } from "../entities";
import { progress } from "../progress";
import { table, type Section } from "../report";
import { verbs } from "../statement-counter";
import { createLoadedOrder, orderModels } from "./orders";

interface Operation {
  name: string;
  /** Returns the statements one operation sent, plain TypeORM then typeorm-occ. */
  measure(): Promise<[string[], string[]]>;
}

/** Scenario 2: statements per operation, counted with a TypeORM Logger (logQuery). */
export async function statementsPerOperation(db: BenchDatabase): Promise<Section> {
  progress(`statements per operation on ${db.driver}`);
  const manager = db.dataSource.manager;
  const items = [PlainItem, OccItem] as const;
  const capture = (work: () => Promise<unknown>) => db.counter.capture(work);
  const both = async (work: (index: 0 | 1) => Promise<unknown>): Promise<[string[], string[]]> => [
    await capture(() => work(0)),
    await capture(() => work(1)),
  ];

  const created = await Promise.all(items.map((item) => manager.save(manager.create(item as typeof PlainItem, { name: "x", counter: 0 }))));
  // Copies TypeORM loaded, as an application holds them (typeorm-occ knows the version each was read at).
  const load = (i: 0 | 1) => manager.findOneByOrFail(items[i] as typeof PlainItem, { id: created[i].id });
  const loaded = [await load(0), await load(1)];
  const orders = await Promise.all(orderModels.map((model) => createLoadedOrder(manager, model, 10)));

  const operations: Operation[] = [
    { name: "insert", measure: () => both((i) => manager.save(manager.create(items[i] as typeof PlainItem, { name: "new", counter: 0 }))) },
    {
      name: "read-modify-save (findOneBy, change one column, save)",
      measure: () => both(async (i) => ((loaded[i] = await load(i)), (loaded[i].name = "read"), manager.save(loaded[i]))),
    },
    { name: "update (one column) of that saved copy", measure: () => both((i) => ((loaded[i].name = "changed"), manager.save(loaded[i]))) },
    { name: "no-op save", measure: () => both((i) => manager.save(loaded[i])) },
    { name: "remove (freshly loaded)", measure: () => both(async (i) => manager.remove(await load(i))) },
    {
      name: "aggregate save (root + 10 loaded lines, one line changed)",
      measure: () => both((i) => (orders[i].lines[3].quantity++, manager.save(orders[i]))),
    },
  ];

  const rows: string[][] = [];
  for (const operation of operations) {
    const [plain, occ] = await operation.measure();
    rows.push([operation.name, String(plain.length), String(occ.length), verbs(plain) || "—", verbs(occ) || "—"]);
  }
  const body = table(["Operation", "plain TypeORM", "typeorm-occ", "plain TypeORM sends", "typeorm-occ sends"], rows);
  return { title: `2. Statements per operation — ${db.version}`, body, targets: [] };
}
