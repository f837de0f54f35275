/**
 * The only module that reaches into TypeORM internals.
 *
 * TypeORM's save()/remove() build their UPDATE and DELETE statements inside `SubjectExecutor`,
 * which is not public API, and ignore the affected-row count. To put the version into the WHERE
 * clause without an extra statement, we wrap four of its methods and delegate everything that is
 * not versioned to the originals. The shapes used are declared here as narrow interfaces and
 * checked before patching, so an incompatible TypeORM fails loudly instead of silently unguarded.
 *
 * Supported range: see `peerDependencies.typeorm` in package.json (checked by test/internals).
 */
import { DataSource, type EntityMetadata, type QueryRunner, type ObjectLiteral } from "typeorm";
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
  const executorPrototype = loadSubjectExecutorPrototype();
  if (executorPrototype[PATCHED]) return;

  for (const [hookName, methodName] of Object.entries(EXECUTOR_METHODS) as [keyof typeof EXECUTOR_METHODS, string][]) {
    const original = executorPrototype[methodName] as AsyncMethod;
    executorPrototype[methodName] = function (this: PersistenceUnit) {
      return hook[hookName](this, () => original.call(this));
    };
  }
  executorPrototype[PATCHED] = true;

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
  let exported: { SubjectExecutor?: { prototype?: Record<string | symbol, unknown> } };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    exported = require("typeorm/persistence/SubjectExecutor");
  } catch (cause) {
    throw new TypeOrmCompatibilityError(
      "typeorm-occ could not load typeorm/persistence/SubjectExecutor; install a TypeORM version within typeorm-occ's peerDependencies range",
      { cause },
    );
  }
  const prototype = exported.SubjectExecutor?.prototype;
  const missing: string[] = prototype
    ? Object.values(EXECUTOR_METHODS).filter((name): boolean => typeof prototype[name] !== "function")
    : [...Object.values(EXECUTOR_METHODS)];
  const buildMetadatas = (DataSource.prototype as unknown as Record<string, unknown>).buildMetadatas;
  if (typeof buildMetadatas !== "function") missing.push("DataSource.buildMetadatas");
  if (!prototype || missing.length > 0) {
    throw new TypeOrmCompatibilityError(
      `typeorm-occ does not support this TypeORM version: SubjectExecutor lacks ${missing.join(", ")}. ` +
        "Versioned saves would be unchecked, so typeorm-occ refuses to load; install a TypeORM version within its peerDependencies range",
    );
  }
  return prototype;
}
