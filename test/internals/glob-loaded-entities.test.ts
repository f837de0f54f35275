import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { enabledDrivers } from "../support/drivers";

/**
 * Entities loaded by glob (`entities: ["dist/**\/*.entity.js"]`) are the first thing to import
 * typeorm-occ, and they are imported by the very metadata build that initialize() runs. The
 * validation must still run in that build: here the entity files are compiled like an app's
 * (CommonJS, decorator metadata) and each case starts from a fresh module registry, where neither
 * typeorm-occ nor a patched TypeORM exists yet.
 */
const root = join(__dirname, "../..");
// Inside the project, so the compiled files resolve `typeorm` from its node_modules like an app's would.
const out = join(root, ".occ-tmp", `glob-${randomBytes(4).toString("hex")}`);

beforeAll(() => {
  const sources = join(__dirname, "glob-entities");
  for (const folder of readdirSync(sources)) {
    mkdirSync(join(out, folder), { recursive: true });
    for (const file of readdirSync(join(sources, folder))) {
      const { outputText } = ts.transpileModule(readFileSync(join(sources, folder, file), "utf8"), {
        compilerOptions: {
          module: ts.ModuleKind.CommonJS,
          target: ts.ScriptTarget.ES2022,
          experimentalDecorators: true,
          emitDecoratorMetadata: true,
        },
      });
      writeFileSync(join(out, folder, file.replace(/\.ts$/, ".js")), outputText);
    }
  }
});
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** Runs `work` in a fresh module registry, checking that typeorm-occ is not loaded before the glob loads it. */
async function freshRegistry(work: (support: typeof import("../support/data-source")) => Promise<void>): Promise<void> {
  await jest.isolateModulesAsync(async () => {
    const support: typeof import("../support/data-source") = require("../support/data-source");
    const { SubjectExecutor } = require("typeorm/persistence/SubjectExecutor");
    expect(SubjectExecutor.prototype[Symbol.for("typeorm-occ.patched")]).toBeUndefined();
    await work(support);
    expect(SubjectExecutor.prototype[Symbol.for("typeorm-occ.patched")]).toBe(true);
  });
}

describe.each(enabledDrivers({ mariadb: true }))("entities loaded by glob, importing typeorm-occ first, on %s", (driver) => {
  it.each([
    ["an @AggregateRoot() without a version column", "bad-root", /UnversionedRoot: @AggregateRoot\(\) needs a version column/],
    [
      "an occSchema() aggregate root without a version column",
      "bad-schema",
      /glob_unversioned_schema_root: occSchema\(schema, \{ aggregateRoot: true \}\) needs a version column/,
    ],
  ])("refuses %s at initialize()", async (_, folder, message) => {
    await freshRegistry(async ({ createTestDatabase }) => {
      const error = await createTestDatabase(driver, { entities: [join(out, folder, "*.entity.js")] }).then(
        async (db) => {
          await db.close();
          return undefined;
        },
        (caught: unknown) => caught,
      );
      expect(error).toMatchObject({ name: "EntityDefinitionError", message: expect.stringMatching(message) });
    });
  });

  it("checks the versions of decorated and EntitySchema entities loaded that way", async () => {
    await freshRegistry(async ({ createTestDatabase }) => {
      const db = await createTestDatabase(driver, { entities: [join(out, "valid", "*.entity.js")] });
      try {
        for (const [name, column] of [
          ["Ledger", "balance"],
          ["glob_tally", "count"],
        ]) {
          const repository = db.dataSource.getRepository<Record<string, number>>(name);
          const { id } = await repository.save({ [column]: 1 });
          const first = await repository.findOneByOrFail({ id });
          const second = await repository.findOneByOrFail({ id });
          await repository.save({ ...first, [column]: 2 });
          await expect(repository.save({ ...second, [column]: 3 })).rejects.toMatchObject({
            name: "StaleDataError",
            entityName: name,
            expectedVersion: 1,
            actualVersion: 2,
          });
        }
      } finally {
        await db.close();
      }
    });
  });
});
