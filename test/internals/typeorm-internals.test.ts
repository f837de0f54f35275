import { readFileSync } from "node:fs";
import { join } from "node:path";
import { TypeOrmCompatibilityError } from "typeorm-occ";
import {
  installPersistenceHook,
  transactionDepthOf,
  type PersistenceSubject,
  type PersistenceUnit,
} from "../../src/internals/typeorm-internals";
import { assertVerifiedTypeOrm, isVerifiedTypeOrm, UNVERIFIED_TYPEORM_OPT_IN, VERIFIED_TYPEORM } from "../../src/internals/typeorm-version";
import { persistenceHook } from "../../src/persistence/persistence-hook";
import { createTestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";
import { coreEntities, Doc } from "../support/entities/core";
import { typeormVersion } from "../versions/typeorm-line";

/**
 * typeorm-occ reaches into TypeORM in exactly one module. These tests go red when a TypeORM
 * upgrade changes what that module relies on, or when the TypeORM installed is not one verified.
 */
describe("TypeORM internals typeorm-occ relies on", () => {
  const packageJson = JSON.parse(readFileSync(join(__dirname, "../../package.json"), "utf8"));

  it("declares the verified versions as package.json's peer range", () => {
    const range: string = packageJson.peerDependencies.typeorm;
    const bump = (version: string) => {
      const [major, minor] = version.split(".").map(Number);
      return major === 0 ? `0.${minor + 1}.0` : `${major + 1}.0.0`;
    };
    const parts = range.split("||").map((part) => {
      const caret = /^\^(\d+\.\d+\.\d+)$/.exec(part.trim());
      if (caret) return { from: caret[1], below: bump(caret[1]) };
      const [, from, below] = /^>=(\d+\.\d+\.\d+) <(\d+\.\d+\.\d+)$/.exec(part.trim()) ?? [];
      return { from, below };
    });
    expect(parts).toEqual(VERIFIED_TYPEORM);
  });

  it(`runs against a verified TypeORM (installed: ${typeormVersion})`, () => {
    expect(isVerifiedTypeOrm(typeormVersion)).toBe(true);
  });

  describe("outside the verified versions", () => {
    const saved = process.env[UNVERIFIED_TYPEORM_OPT_IN];
    afterEach(() => {
      if (saved === undefined) delete process.env[UNVERIFIED_TYPEORM_OPT_IN];
      else process.env[UNVERIFIED_TYPEORM_OPT_IN] = saved;
      jest.restoreAllMocks();
    });

    it.each(["0.3.20", "0.3.31", "0.3.99", "1.0.0", "1.1.1", "1.1.99"])("accepts %s", (version) => {
      expect(() => assertVerifiedTypeOrm(version)).not.toThrow();
    });

    it.each(["0.3.19", "0.4.0", "1.2.0", "2.0.0", "1.1.2-beta.1"])("refuses %s, naming the opt-in", (version) => {
      delete process.env[UNVERIFIED_TYPEORM_OPT_IN];
      expect(() => assertVerifiedTypeOrm(version)).toThrow(TypeOrmCompatibilityError);
      expect(() => assertVerifiedTypeOrm(version)).toThrow(`${UNVERIFIED_TYPEORM_OPT_IN}=${version}`);
    });

    it("runs on the exact version opted into, with a warning, and refuses the next one", () => {
      const warn = jest.spyOn(process, "emitWarning").mockImplementation(() => undefined);
      process.env[UNVERIFIED_TYPEORM_OPT_IN] = "1.2.0";
      expect(() => assertVerifiedTypeOrm("1.2.0")).not.toThrow();
      expect(warn).toHaveBeenCalledWith(expect.stringContaining("TypeORM 1.2.0"), { code: "TYPEORM_OCC_UNVERIFIED_TYPEORM" });
      expect(() => assertVerifiedTypeOrm("1.3.0")).toThrow(TypeOrmCompatibilityError);
    });
  });

  it("patches the SubjectExecutor phases and the entry points exactly once", () => {
    require("typeorm-occ");
    const prototype = require("typeorm/persistence/SubjectExecutor").SubjectExecutor.prototype;
    const phases = [
      "execute",
      "executeInsertOperations",
      "executeUpdateOperations",
      "executeRemoveOperations",
      "executeSoftRemoveOperations",
      "executeRecoverOperations",
    ];
    const wrapped = phases.map((name) => prototype[name]);
    wrapped.forEach((method) => expect(typeof method).toBe("function"));
    expect(prototype[Symbol.for("typeorm-occ.patched")]).toBe(true);
    const { EntityManager, InsertQueryBuilder } = require("typeorm");
    const entryPoints = () => [
      require("typeorm/persistence/EntityPersistExecutor").EntityPersistExecutor.prototype.execute,
      require("typeorm/metadata-builder/EntityMetadataValidator").EntityMetadataValidator.prototype.validateMany,
      EntityManager.prototype.transaction,
      EntityManager.prototype.query,
      InsertQueryBuilder.prototype.execute,
    ];
    const before = entryPoints();
    installPersistenceHook(persistenceHook); // a second install is a no-op
    expect(phases.map((name) => prototype[name])).toEqual(wrapped);
    expect(entryPoints()).toEqual(before);
  });

  it("refuses at import a TypeORM whose save entry point keeps its DataSource under another name, patching nothing", () => {
    // What TypeORM 0.3 was to a typeorm-occ that read only 1.x's `dataSource`: a TypeError in every save.
    jest.isolateModules(() => {
      const module = require("typeorm/persistence/EntityPersistExecutor");
      const Original = module.EntityPersistExecutor;
      module.EntityPersistExecutor = class Renamed extends Original {
        constructor(...args: unknown[]) {
          super(...args);
          const self = this as unknown as Record<string, unknown>;
          self.source = self.dataSource ?? self.connection;
          delete self.dataSource;
          delete self.connection;
        }
      };
      const { SubjectExecutor } = require("typeorm/persistence/SubjectExecutor");
      const execute = SubjectExecutor.prototype.execute;
      const { installPersistenceHook: install } = require("../../src/internals/typeorm-internals");
      expect(() => install(persistenceHook)).toThrow(require("../../src/errors").TypeOrmCompatibilityError);
      expect(() => install(persistenceHook)).toThrow(/Renamed without its DataSource/);
      expect(SubjectExecutor.prototype.execute).toBe(execute);
    });
  });

  it.each(enabledDrivers({ mariadb: true }))(
    "refuses at initialize() a %s DataSource whose query builders bypass the wrapped execute",
    async (driver) => {
      await jest.isolateModulesAsync(async () => {
        const { createTestDatabase: create } = require("../support/data-source");
        const { coreEntities: entities } = require("../support/entities/core"); // loads typeorm-occ in this registry
        const db = await create(driver, { entities: [] });
        try {
          const { InsertQueryBuilder } = require("typeorm");
          const wrapped = InsertQueryBuilder.prototype.execute;
          // A TypeORM that routes inserts through a method typeorm-occ did not wrap would write unguarded.
          InsertQueryBuilder.prototype.execute = async function (this: unknown) {
            return wrapped.call(this);
          };
          await expect(db.open({ entities })).rejects.toThrow(/InsertQueryBuilder\.execute is not a method typeorm-occ wraps/);
        } finally {
          await db.close();
        }
      });
    },
  );

  describe.each(enabledDrivers({ mariadb: true }))("on %s", (driver) => {
    it("hands the phases a unit whose subjects carry what TypeORM sets during a save", async () => {
      const db = await createTestDatabase(driver, { entities: coreEntities });
      const prototype = require("typeorm/persistence/SubjectExecutor").SubjectExecutor.prototype;
      const originals = { insert: prototype.executeInsertOperations, update: prototype.executeUpdateOperations };
      const seen: Record<string, Partial<PersistenceSubject>> = {};
      prototype.executeInsertOperations = async function (this: PersistenceUnit) {
        await originals.insert.call(this);
        const [subject] = this.insertSubjects;
        if (subject) seen.inserted = { generatedMap: subject.generatedMap, identifier: subject.identifier };
      };
      prototype.executeUpdateOperations = async function (this: PersistenceUnit) {
        const [subject] = this.updateSubjects;
        if (subject)
          seen.updated = {
            databaseEntity: subject.databaseEntity,
            changeMaps: subject.changeMaps.map(({ column, value }) => ({ column, value })),
          };
        await originals.update.call(this);
      };
      try {
        const docs = db.dataSource.getRepository(Doc);
        const doc = await docs.save(docs.create({ title: "a" }));
        doc.title = "b";
        await docs.save(doc);
        expect(seen.inserted.generatedMap).toMatchObject({ id: doc.id });
        expect(seen.inserted.identifier).toEqual({ id: doc.id });
        expect(seen.updated.databaseEntity).toMatchObject({ id: doc.id, title: "a", version: 1 });
        expect(seen.updated.changeMaps).toEqual([
          { column: expect.objectContaining({ propertyPath: "title", databaseName: "title" }), value: "b" },
        ]);
      } finally {
        Object.assign(prototype, { executeInsertOperations: originals.insert, executeUpdateOperations: originals.update });
        await db.close();
      }
    });

    it("reads the savepoint depth of a query runner", async () => {
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
});
