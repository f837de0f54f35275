import { readFileSync } from "node:fs";
import { join } from "node:path";
import { installPersistenceHook, transactionDepthOf } from "../../src/internals/typeorm-internals";
import { persistenceHook } from "../../src/persistence-hook";
import { createTestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";
import { coreEntities } from "../support/entities/core";

/**
 * typeorm-occ reaches into TypeORM in exactly one module. These tests go red when a TypeORM
 * upgrade changes what that module relies on.
 */
describe("TypeORM internals typeorm-occ relies on", () => {
  const packageJson = JSON.parse(readFileSync(join(__dirname, "../../package.json"), "utf8"));
  const typeormVersion: string = JSON.parse(readFileSync(join(__dirname, "../../node_modules/typeorm/package.json"), "utf8")).version;

  it("runs against a TypeORM inside the pinned peer range", () => {
    const range: string = packageJson.peerDependencies.typeorm;
    const [, low, high] = /^>=(\d+\.\d+\.\d+) <(\d+\.\d+\.\d+)$/.exec(range) ?? [];
    expect(low).toBeDefined();
    const toNumber = (version: string) => version.split(/[.-]/).slice(0, 3).reduce((sum, part) => sum * 1000 + Number(part), 0);
    expect(toNumber(typeormVersion)).toBeGreaterThanOrEqual(toNumber(low));
    expect(toNumber(typeormVersion)).toBeLessThan(toNumber(high));
  });

  it("has the SubjectExecutor phases it wraps, patched exactly once", () => {
    require("typeorm-occ");
    const prototype = require("typeorm/persistence/SubjectExecutor").SubjectExecutor.prototype;
    const wrapped = ["execute", "executeUpdateOperations", "executeRemoveOperations", "executeSoftRemoveOperations", "executeRecoverOperations"].map(
      (name) => prototype[name],
    );
    wrapped.forEach((method) => expect(typeof method).toBe("function"));
    expect(prototype[Symbol.for("typeorm-occ.patched")]).toBe(true);
    const persist = require("typeorm/persistence/EntityPersistExecutor").EntityPersistExecutor.prototype;
    const { EntityManager, DataSource } = require("typeorm");
    const entryPoints = () => [persist.execute, EntityManager.prototype.transaction, DataSource.prototype.buildMetadatas];
    entryPoints().forEach((method) => expect(typeof method).toBe("function"));
    const before = entryPoints();
    installPersistenceHook(persistenceHook); // a second install is a no-op
    expect(["execute", "executeUpdateOperations", "executeRemoveOperations", "executeSoftRemoveOperations", "executeRecoverOperations"].map((name) => prototype[name])).toEqual(wrapped);
    expect(entryPoints()).toEqual(before);
  });

  it("keeps the write-unit entry points TypeORM calls: a standalone save passes no query runner", () => {
    // EntityPersistExecutor(dataSource, queryRunner, mode, target, entity, options): the gate reads the first two.
    const { EntityPersistExecutor } = require("typeorm/persistence/EntityPersistExecutor");
    const probe = new EntityPersistExecutor("ds", undefined, "save", undefined, {}, undefined);
    expect(probe).toMatchObject({ dataSource: "ds", queryRunner: undefined });
  });

  it.each(enabledDrivers({ mariadb: true }))("reads the savepoint depth of a %s query runner", async (driver) => {
    const db = await createTestDatabase(driver, { entities: coreEntities });
    const runner = db.dataSource.createQueryRunner();
    try {
      expect(transactionDepthOf(runner)).toBe(0);
      await runner.startTransaction();
      expect(transactionDepthOf(runner)).toBe(1);
      await runner.startTransaction();
      expect(transactionDepthOf(runner)).toBe(2);
      await runner.rollbackTransaction();
      expect(transactionDepthOf(runner)).toBe(1);
      await runner.commitTransaction();
      expect(transactionDepthOf(runner)).toBe(0);
    } finally {
      await runner.release();
      await db.close();
    }
  });
});
