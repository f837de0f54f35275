import { enabledDrivers } from "../support/drivers";
import type { ScenarioResult } from "../support/plain-scenario";

const PATCHED = Symbol.for("typeorm-occ.patched");

/**
 * Runs the same ordinary-entity scenario twice, each on its own copy of TypeORM (jest module
 * isolation): once untouched, once with typeorm-occ loaded. Statements and results must be equal.
 */
function loadScenario(withOcc: boolean): { run: (driver: never) => Promise<ScenarioResult>; patched: boolean } {
  let loaded!: { run: (driver: never) => Promise<ScenarioResult>; patched: boolean };
  jest.isolateModules(() => {
    if (withOcc) require("typeorm-occ");
    const scenario = require("../support/plain-scenario");
    const executor = require("typeorm/persistence/SubjectExecutor").SubjectExecutor.prototype;
    loaded = { run: scenario.runPlainScenario, patched: executor[PATCHED] === true };
  });
  return loaded;
}

describe.each(enabledDrivers({ mariadb: true }))("entities without typeorm-occ columns on %s", (driver) => {
  it("issue the same statements and give the same results with typeorm-occ loaded", async () => {
    const plain = loadScenario(false);
    const withOcc = loadScenario(true);
    expect(plain.patched).toBe(false);
    expect(withOcc.patched).toBe(true);

    const expected = await plain.run(driver as never);
    const actual = await withOcc.run(driver as never);
    expect(actual.statements.length).toBeGreaterThan(20);
    expect(actual.statements).toEqual(expected.statements);
    expect(JSON.parse(JSON.stringify(actual.states, dropDates))).toEqual(JSON.parse(JSON.stringify(expected.states, dropDates)));
  });
});

/** Soft-delete timestamps differ between runs; keep only whether they are set. */
function dropDates(key: string, value: unknown): unknown {
  return key === "deletedAt" ? value !== null : value;
}
