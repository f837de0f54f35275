/**
 * The only module that reaches into TypeORM internals.
 *
 * TypeORM's save()/remove() build their UPDATE and DELETE statements inside `SubjectExecutor`,
 * which is not public API, and ignore the affected-row count. To put the version into the WHERE
 * clause without an extra statement, we wrap its phases and delegate everything that is not
 * versioned to the originals. Write units (`EntityPersistExecutor.execute`, the entry of a
 * standalone save, and `EntityManager.transaction`) are wrapped so they can be serialized on
 * drivers that share one connection, and `DataSource.buildMetadatas` so entities are validated
 * at `initialize()`. The shapes used are declared here as narrow interfaces and
 * checked before patching, so an incompatible TypeORM fails loudly instead of silently unguarded.
 *
 * Supported range: see `peerDependencies.typeorm` in package.json (checked by test/internals).
 */
import { DataSource, EntityManager, type EntityMetadata, type QueryRunner, type ObjectLiteral } from "typeorm";
import { TypeOrmCompatibilityError } from "../errors";

/** The parts of TypeORM's internal `Subject` that typeorm-occ reads or drives. */
export interface PersistenceSubject {
  metadata: EntityMetadata;
  identifier: ObjectLiteral | undefined;
  parentSubject?: PersistenceSubject;
  entity?: ObjectLiteral;
  databaseEntity?: ObjectLiteral;
  generatedMap?: ObjectLiteral;
  readonly mustBeInserted: boolean;
  readonly mustBeUpdated: boolean;
  mustBeRemoved: boolean;
  readonly mustBeSoftRemoved: boolean;
  readonly mustBeRecovered: boolean;
  createValueSetAndPopChangeMap(): ObjectLiteral;
}

/** The parts of TypeORM's internal `SubjectExecutor` (one save()/remove() unit of work). */
export interface PersistenceUnit {
  readonly queryRunner: QueryRunner;
  readonly options?: { reload?: boolean };
  readonly allSubjects: PersistenceSubject[];
  updateSubjects: PersistenceSubject[];
  removeSubjects: PersistenceSubject[];
  softRemoveSubjects: PersistenceSubject[];
  recoverSubjects: PersistenceSubject[];
}

/** What the patch calls; implemented by src/persistence-hook.ts. */
export interface PersistenceHook {
  /** Around one unit of work: validate input first, undo in-memory changes if it fails. */
  execute(unit: PersistenceUnit, original: () => Promise<void>): Promise<void>;
  /** Runs the versioned subjects of one phase itself and hands the rest to TypeORM. */
  update(unit: PersistenceUnit, original: () => Promise<void>): Promise<void>;
  remove(unit: PersistenceUnit, original: () => Promise<void>): Promise<void>;
  softRemove(unit: PersistenceUnit, original: () => Promise<void>): Promise<void>;
  recover(unit: PersistenceUnit, original: () => Promise<void>): Promise<void>;
  /** After TypeORM built a DataSource's entity metadata. */
  metadataBuilt(dataSource: DataSource): void;
  /** TypeORM rejected the metadata; returns the error to throw (ours when it concerns our entities). */
  metadataRejected(dataSource: DataSource, error: unknown): unknown;
  /** Around a write unit not bound to a query runner: a standalone save/remove, or `transaction()`. */
  writeUnit<T>(dataSource: DataSource, work: () => Promise<T>): Promise<T>;
}

const PATCHED = Symbol.for("typeorm-occ.patched");

const EXECUTOR_METHODS = {
  execute: "execute",
  update: "executeUpdateOperations",
  remove: "executeRemoveOperations",
  softRemove: "executeSoftRemoveOperations",
  recover: "executeRecoverOperations",
} as const;

type AsyncMethod = (this: unknown, ...args: unknown[]) => Promise<void>;

/**
 * Installs the hook into TypeORM, once per TypeORM copy (the marker lives on the patched
 * prototype, so a second copy of typeorm-occ does not patch twice).
 */
export function installPersistenceHook(hook: PersistenceHook): void {
  // Every shape is checked before anything is patched: all or nothing.
  const executorPrototype = loadSubjectExecutorPrototype();
  if (executorPrototype[PATCHED]) return;
  const persistPrototype = loadPrototype("typeorm/persistence/EntityPersistExecutor", "EntityPersistExecutor", ["execute"]);

  for (const [hookName, methodName] of Object.entries(EXECUTOR_METHODS) as [keyof typeof EXECUTOR_METHODS, string][]) {
    const original = executorPrototype[methodName] as AsyncMethod;
    executorPrototype[methodName] = function (this: PersistenceUnit) {
      return hook[hookName](this, () => original.call(this));
    };
  }
  executorPrototype[PATCHED] = true;

  // Write units that pick their own connection (see src/shared-connection-gate.ts for why).
  const persist = persistPrototype.execute as AsyncMethod;
  persistPrototype.execute = function (this: { dataSource: DataSource; queryRunner?: QueryRunner }) {
    if (this.queryRunner) return persist.call(this);
    return hook.writeUnit(this.dataSource, () => persist.call(this));
  };
  const managerPrototype = EntityManager.prototype as unknown as Record<string, unknown>;
  const transaction = managerPrototype.transaction as AsyncMethod;
  managerPrototype.transaction = function (this: EntityManager, ...args: unknown[]) {
    if (this.queryRunner) return transaction.apply(this, args);
    return hook.writeUnit(this.dataSource, () => transaction.apply(this, args));
  };

  const dataSourcePrototype = DataSource.prototype as unknown as Record<string, unknown>;
  const buildMetadatas = dataSourcePrototype.buildMetadatas as AsyncMethod;
  dataSourcePrototype.buildMetadatas = async function (this: DataSource, ...args: unknown[]) {
    try {
      await buildMetadatas.apply(this, args);
    } catch (error) {
      throw hook.metadataRejected(this, error);
    }
    hook.metadataBuilt(this);
  };
}

/** The depth of nested transactions (savepoints) a query runner is in; 0 outside a transaction. */
export function transactionDepthOf(queryRunner: QueryRunner): number {
  const depth = (queryRunner as unknown as { transactionDepth?: unknown }).transactionDepth;
  if (typeof depth === "number") return depth;
  return queryRunner.isTransactionActive ? 1 : 0;
}

function loadSubjectExecutorPrototype(): Record<string | symbol, unknown> {
  const prototype = loadPrototype("typeorm/persistence/SubjectExecutor", "SubjectExecutor", Object.values(EXECUTOR_METHODS));
  for (const [owner, method] of [
    [DataSource.prototype, "buildMetadatas"],
    [EntityManager.prototype, "transaction"],
  ] as const) {
    if (typeof (owner as unknown as Record<string, unknown>)[method] !== "function") incompatible(`${owner.constructor.name}.${method}`);
  }
  return prototype;
}

function loadPrototype(path: string, exportName: string, methods: readonly string[]): Record<string | symbol, unknown> {
  let exported: Record<string, { prototype?: Record<string | symbol, unknown> } | undefined>;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    exported = require(path);
  } catch (cause) {
    throw new TypeOrmCompatibilityError(
      `typeorm-occ could not load ${path}; install a TypeORM version within typeorm-occ's peerDependencies range`,
      { cause },
    );
  }
  const prototype = exported[exportName]?.prototype;
  const missing = prototype ? methods.filter((name) => typeof prototype[name] !== "function") : [...methods];
  if (!prototype || missing.length > 0) incompatible(`${exportName} lacks ${missing.join(", ") || "its prototype"}`);
  return prototype!;
}

function incompatible(what: string): never {
  throw new TypeOrmCompatibilityError(
    `typeorm-occ does not support this TypeORM version: ${what}. ` +
      "Versioned saves would be unchecked, so typeorm-occ refuses to load; install a TypeORM version within its peerDependencies range",
  );
}
