import fc from "fast-check";
import { InvalidVersionError, isVersionNumber, MissingVersionError, StaleDataError } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";
import { OccStressCounter, OccStressLine, OccStressOrder, stressEntities } from "../stress/entities";
import { orderState } from "../stress/workloads/model";

/** Versions as they arrive from forms, JSON bodies and query strings. */
const namedBadVersions: Array<[string, unknown]> = [
  ["numeric string", "1"],
  ["string", "abc"],
  ["empty string", ""],
  ["float", 1.5],
  ["negative", -1],
  ["negative zero string", "-0"],
  ["beyond MAX_SAFE_INTEGER", 2 ** 53],
  ["1e308", 1e308],
  ["Infinity", Infinity],
  ["NaN", NaN],
  ["bigint", BigInt(1)],
  ["boolean", true],
  ["object", {}],
  ["array", [1]],
  ["object that pretends to be 1", { valueOf: () => 1, toString: () => "1" }],
  ["date", new Date(1)],
  ["SQL in a version", "1 OR 1=1"],
  ["SQL statement in a version", "1; DELETE FROM occ_stress_counter; --"],
];
const missingVersions: Array<[string, unknown]> = [
  ["null", null],
  ["undefined", undefined],
];

/** A typed error, and nothing was written. */
function expectRefused(error: unknown, kind: typeof InvalidVersionError | typeof MissingVersionError) {
  expect(error).toBeInstanceOf(kind);
  expect((error as Error).name).toBe(kind.name);
}

describe.each(enabledDrivers())("versions from the outside world on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: stressEntities });
  });
  afterAll(async () => db?.close());

  const counters = () => db.dataSource.getRepository(OccStressCounter);
  const orders = () => db.dataSource.getRepository(OccStressOrder);

  async function freshCounter() {
    return counters().save(counters().create({ value: 10 }));
  }

  describe.each([
    ...namedBadVersions.map(([name, value]) => [name, value, InvalidVersionError] as const),
    ...missingVersions.map(([name, value]) => [name, value, MissingVersionError] as const),
  ])("version %s", (_name, value, kind) => {
    it("save() refuses with a typed error and writes nothing", async () => {
      const { id } = await freshCounter();
      const statements = await db.log.capture(async () => {
        const error = await counters()
          .save(Object.assign(counters().create({ id, value: 99 }), { version: value }))
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        expectRefused(error, kind);
      });
      expect(statements.filter((sql) => /^\s*(INSERT|UPDATE|DELETE)\b/i.test(sql))).toEqual([]);
      expect(await counters().findOneByOrFail({ id })).toMatchObject({ value: 10, version: 1 });
    });

    it("remove() refuses with a typed error and deletes nothing", async () => {
      const { id } = await freshCounter();
      const error = await counters()
        .remove(Object.assign(counters().create({ id, value: 10 }), { version: value }))
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expectRefused(error, kind);
      expect(await counters().findOneByOrFail({ id })).toMatchObject({ value: 10, version: 1 });
    });

    it("an aggregate save with that root version changes neither the root nor its lines", async () => {
      const order = await orders().save(orders().create({ note: "n", lines: [{ label: "a", quantity: 1 } as OccStressLine] }));
      const before = await orders().findOneOrFail({ where: { id: order.id }, relations: { lines: true } });
      const edited = await orders().findOneOrFail({ where: { id: order.id }, relations: { lines: true } });
      edited.lines[0].quantity = 2;
      edited.lines.push(db.dataSource.getRepository(OccStressLine).create({ label: "b", quantity: 3 }));
      Object.assign(edited, { version: value });
      const error = await orders()
        .save(edited)
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expectRefused(error, kind);
      const after = await orders().findOneOrFail({ where: { id: order.id }, relations: { lines: true } });
      expect({ version: after.version, ...orderState(after) }).toEqual({ version: before.version, ...orderState(before) });
    });
  });

  it("property: any value as a version gives success (current), StaleDataError (other number) or a typed error, and writes only on success", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.anything(), fc.integer(), fc.double(), fc.string(), fc.bigInt()), async (value) => {
        const { id } = await freshCounter();
        const error = await counters()
          .save(Object.assign(counters().create({ id, value: 11 }), { version: value }))
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        const row = await counters().findOneByOrFail({ id });
        if (value === null || value === undefined) expectRefused(error, MissingVersionError);
        else if (!isVersionNumber(value)) expectRefused(error, InvalidVersionError);
        else if (value === 1) expect(error).toBeUndefined();
        else expect(error).toBeInstanceOf(StaleDataError);
        expect(row).toEqual(error === undefined ? { id, value: 11, version: 2 } : { id, value: 10, version: 1 });
      }),
      { numRuns: 60, seed: 6 },
    );
  });
});

describe.each(enabledDrivers())("SQL injection attempts through values and versions on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: stressEntities });
  });
  afterAll(async () => db?.close());

  const payloads = [
    `'; DROP TABLE occ_stress_line; --`,
    `" OR "1"="1`,
    `' OR version = version OR '`,
    `1); DELETE FROM occ_stress_order; --`,
    `\\'; UPDATE occ_stress_order SET version = 0; --`,
    `$1 $2 :version ? @p1`,
    `Robert'); DROP TABLE "occ_stress_counter";--`,
  ];

  it("stores hostile strings verbatim in roots and lines, through inserts, version-checked updates and root bumps", async () => {
    const orders = db.dataSource.getRepository(OccStressOrder);
    const bystander = await orders.save(orders.create({ note: "bystander", lines: [{ label: "keep", quantity: 1 } as OccStressLine] }));
    for (const payload of payloads) {
      const order = await orders.save(orders.create({ note: payload, lines: [{ label: payload, quantity: 1 } as OccStressLine] }));
      const loaded = await orders.findOneOrFail({ where: { id: order.id }, relations: { lines: true } });
      loaded.lines[0].quantity = 2; // a member change: the root bump runs with the hostile root around
      loaded.lines.push(db.dataSource.getRepository(OccStressLine).create({ label: `${payload}#2`, quantity: 3 }));
      await orders.save(loaded);
      loaded.note = `${payload}!`;
      await orders.save(loaded);
      const after = await orders.findOneOrFail({ where: { id: order.id }, relations: { lines: true } });
      expect(after.version).toBe(3);
      expect(orderState(after)).toEqual({ note: `${payload}!`, lines: { [payload]: 2, [`${payload}#2`]: 3 } });
    }
    const untouched = await orders.findOneOrFail({ where: { id: bystander.id }, relations: { lines: true } });
    expect({ version: untouched.version, ...orderState(untouched) }).toEqual({ version: 1, note: "bystander", lines: { keep: 1 } });
    expect(await orders.count()).toBe(payloads.length + 1);
  });

  it("refuses hostile versions and primary keys without touching any row", async () => {
    const counters = db.dataSource.getRepository(OccStressCounter);
    const rows = await counters.save([counters.create({ value: 1 }), counters.create({ value: 2 })]);
    for (const payload of payloads) {
      const error = await counters.save(Object.assign(counters.create({ id: rows[0].id, value: 100 }), { version: payload })).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(InvalidVersionError);
      // A hostile primary key with a valid version: the row is not found (or the driver rejects the value), nothing changes.
      await counters.save(Object.assign(counters.create({ value: 100, version: 1 }), { id: payload })).then(
        () => undefined,
        (e: unknown) => e,
      );
    }
    const after = await counters.find({ order: { id: "ASC" } });
    expect(after.filter((row) => rows.some((r) => r.id === row.id))).toEqual(rows.map((row) => ({ ...row, version: 1 })));
    expect(after.every((row) => row.value !== 100)).toBe(true);
  });
});
