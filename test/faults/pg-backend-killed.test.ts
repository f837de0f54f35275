import { Client } from "pg";
import type { DataSource } from "typeorm";
import { StaleDataError } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";
import { OccStressLine, OccStressOrder, stressEntities } from "../stress/entities";
import { orderState } from "../stress/workloads/model";
import { arm, KillSwitch, type KillPoint } from "./kill-switch";

const describeOnPostgres = enabledDrivers().includes("postgres") ? describe : describe.skip;

describeOnPostgres("PostgreSQL backend killed in the middle of an aggregate save", () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let admin: Client;

  beforeAll(async () => {
    db = await createTestDatabase("postgres", { entities: stressEntities });
    dataSource = await db.open({ subscribers: [KillSwitch], poolSize: 4 });
    admin = new Client({ connectionString: (dataSource.options as { url: string }).url });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await db?.close();
  });

  const orders = () => dataSource.getRepository(OccStressOrder);
  const load = (id: number) => db.dataSource.getRepository(OccStressOrder).findOneOrFail({ where: { id }, relations: { lines: true } });

  async function seed(): Promise<OccStressOrder> {
    const order = orders().create({
      note: "old",
      lines: [
        { label: "a", quantity: 1 },
        { label: "b", quantity: 2 },
      ] as OccStressLine[],
    });
    await orders().save(order);
    return orders().findOneOrFail({ where: { id: order.id }, relations: { lines: true } });
  }

  /** Changes the root, changes one line, removes one and adds two: every kind of statement. */
  function change(order: OccStressOrder): void {
    order.note = "new";
    order.lines.find((line) => line.label === "a")!.quantity = 100;
    order.lines = order.lines.filter((line) => line.label !== "b");
    order.lines.push(dataSource.getRepository(OccStressLine).create({ label: "c", quantity: 3 }));
    order.lines.push(dataSource.getRepository(OccStressLine).create({ label: "d", quantity: 4 }));
  }

  async function killedSave(order: OccStressOrder, point: KillPoint): Promise<unknown> {
    const switched = arm(point);
    const saving = orders()
      .save(order, { data: { killAt: point } })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    await terminate(await switched.pid);
    switched.proceed();
    return saving;
  }

  async function terminate(pid: number): Promise<void> {
    await admin.query("SELECT pg_terminate_backend($1)", [pid]);
    // Wait for the backend to be gone (a condition, not a delay).
    for (;;) {
      const { rows } = await admin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1", [pid]);
      if (rows[0].n === 0) return;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  it.each<KillPoint>(["before-first-update", "before-first-delete", "before-commit"])(
    "killed %s: the save rejects and the aggregate is entirely the old one",
    async (point) => {
      const order = await seed();
      const before = await load(order.id);

      change(order);
      const error = await killedSave(order, point);

      expect(error).toBeInstanceOf(Error);
      expect(error).not.toBeInstanceOf(StaleDataError);
      const after = await load(order.id);
      expect({ version: after.version, ...orderState(after) }).toEqual({ version: before.version, ...orderState(before) });
      expect(after.lines.map((line) => line.id).sort()).toEqual(before.lines.map((line) => line.id).sort());

      // The pool recovers, and a fresh attempt from the reloaded state goes through in full.
      const retry = await orders().findOneOrFail({ where: { id: order.id }, relations: { lines: true } });
      retry.note = "new";
      retry.lines.push(dataSource.getRepository(OccStressLine).create({ label: "c", quantity: 3 }));
      await orders().save(retry);
      const final = await load(order.id);
      expect(final.version).toBe(before.version + 1);
      expect(orderState(final)).toEqual({ note: "new", lines: { ...orderState(before).lines, c: 3 } });
    },
  );

  // Known gap, reported to the lead: when the connection dies, TypeORM cannot run ROLLBACK (the query
  // runner is already released), no rollback event fires, and the root's in-memory version stays
  // bumped although nothing was committed. A plain retry of the same object then gets a spurious
  // StaleDataError; reload-and-retry (what withOptimisticRetry does) is unaffected.
  // `it.failing` passes while the gap exists and turns red once it is fixed: then make it an `it`.
  it.failing("restores the in-memory version when the connection dies mid-save", async () => {
    const order = await seed();
    const version = order.version;
    change(order);
    await killedSave(order, "before-commit");
    expect(order.version).toBe(version);
  });
});
