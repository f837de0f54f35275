/**
 * The only module that reaches into TypeORM internals.
 *
 * TypeORM's save()/remove() build their UPDATE and DELETE statements inside `SubjectExecutor`,
 * which is not public API, and ignore the affected-row count. To put the version into the WHERE
 * clause without an extra statement, we wrap its phases and delegate everything that is not
 * versioned to the originals. Around them:
 * - `EntityPersistExecutor.execute` (one save()/remove() call, possibly several executors when
 *   chunked): its transaction mode and savepoint, and the SQLite write gate;
 * - `EntityManager.transaction`: the SQLite write gate;
 * - the insert/update/delete/soft-delete query builders' `execute` (every other TypeORM write
 *   entry point: update(), insert(), upsert(), increment(), delete(), query builders): the write
 *   guard and the SQLite write gate; `DataSource.query` (raw SQL): the SQLite write gate;
 * - `DataSource.buildMetadatas`: entities are validated at `initialize()`.
 * The shapes used are declared here as narrow interfaces and checked before patching, so an
 * incompatible TypeORM fails loudly instead of silently unguarded.
 *
 * Supported range: see `peerDependencies.typeorm` in package.json (checked by test/internals).
 */
import {
  DataSource,
  DeleteQueryBuilder,
  EntityManager,
  InsertQueryBuilder,
  UpdateQueryBuilder,
  type EntityMetadata,
  type ObjectLiteral,
  type QueryRunner,
} from "typeorm";
import { TypeOrmCompatibilityError } from "../errors";

/** The parts of TypeORM's internal `Subject` that typeorm-occ reads or drives. */
export interface PersistenceSubject {
  metadata: EntityMetadata;
  identifier: ObjectLiteral | undefined;
  parentSubject?: PersistenceSubject;
  entity?: ObjectLiteral;
  databaseEntity?: ObjectLiteral;
  generatedMap?: ObjectLiteral;
  /** Pending changes: a column or relation and its new value (read before the write pops them). */
  changeMaps: { column?: { propertyPath: string; databaseName: string }; relation?: { propertyPath: string }; value: unknown }[];
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
  readonly options?: { reload?: boolean; chunk?: number; data?: unknown; listeners?: boolean };
  readonly allSubjects: PersistenceSubject[];
  insertSubjects: PersistenceSubject[];
  updateSubjects: PersistenceSubject[];
  removeSubjects: PersistenceSubject[];
  softRemoveSubjects: PersistenceSubject[];
  recoverSubjects: PersistenceSubject[];
  /** Whether TypeORM runs the unit at all (set by its `recompute()`). */
  hasExecutableOperations: boolean;
}

/** One `save()`/`remove()`/`softRemove()`/`recover()` call (TypeORM's `EntityPersistExecutor`). */
export interface PersistCall {
  readonly dataSource: DataSource;
  /** The caller's query runner (a transactional manager's); undefined for a standalone call. */
  readonly queryRunner: QueryRunner | undefined;
  readonly options: { transaction?: boolean; chunk?: number } | undefined;
}

/** A write sent through one of TypeORM's query builders, as the write guard sees it. */
export interface BuilderWrite {
  kind: "insert" | "update" | "delete" | "soft-delete" | "restore";
  dataSource: DataSource;
  /** The target entity; undefined for a builder on a raw table name. */
  metadata: EntityMetadata | undefined;
  /** Inserted rows or the SET map. */
  values: ObjectLiteral[];
  /** INSERT … ON CONFLICT DO UPDATE / ON DUPLICATE KEY UPDATE, or INSERT … SELECT. */
  upsert: boolean;
  fromSelect: boolean;
  /** The query runner the builder is bound to (a transactional manager's), if any. */
  queryRunner: QueryRunner | undefined;
}

/** What the patches call; implemented by src/persistence-hook.ts. */
export interface PersistenceHook {
  /** Around one save()/remove() call: its transaction mode, savepoint and write gate. */
  persist(call: PersistCall, original: () => Promise<void>): Promise<void>;
  /** Around one unit of work: validate input first, undo in-memory changes if it fails. */
  execute(unit: PersistenceUnit, original: () => Promise<void>): Promise<void>;
  /** A unit with nothing to write that typeorm-occ must still run (to compare versions). */
  mustRun(unit: PersistenceUnit): boolean;
  /** The first write phase: everything checked and locked before TypeORM's first INSERT. */
  insert(unit: PersistenceUnit, original: () => Promise<void>): Promise<void>;
  /** Runs the versioned subjects of one phase itself and hands the rest to TypeORM. */
  update(unit: PersistenceUnit, original: () => Promise<void>): Promise<void>;
  remove(unit: PersistenceUnit, original: () => Promise<void>): Promise<void>;
  softRemove(unit: PersistenceUnit, original: () => Promise<void>): Promise<void>;
  recover(unit: PersistenceUnit, original: () => Promise<void>): Promise<void>;
  /** After TypeORM built a DataSource's entity metadata. */
  metadataBuilt(dataSource: DataSource): void;
  /** TypeORM rejected the metadata; returns the error to throw (ours when it concerns our entities). */
  metadataRejected(dataSource: DataSource, error: unknown): unknown;
  /** Around a write unit not bound to a caller's query runner: `transaction()`, a raw query. */
  writeUnit<T>(dataSource: DataSource, work: () => Promise<T>): Promise<T>;
  /** Around a query-builder write: refuse it (throws) or run it. */
  builderWrite<T>(write: BuilderWrite, work: () => Promise<T>): Promise<T>;
}

const PATCHED = Symbol.for("typeorm-occ.patched");

const EXECUTOR_METHODS = {
  execute: "execute",
  insert: "executeInsertOperations",
  update: "executeUpdateOperations",
  remove: "executeRemoveOperations",
  softRemove: "executeSoftRemoveOperations",
  recover: "executeRecoverOperations",
} as const;

type AsyncMethod = (this: unknown, ...args: unknown[]) => Promise<unknown>;

/** The expression map fields of a query builder the write guard reads. */
interface BuilderState {
  queryType: string;
  mainAlias?: { hasMetadata: boolean; metadata: EntityMetadata };
  valuesSet?: ObjectLiteral | ObjectLiteral[];
  onUpdate?: unknown;
  onConflict?: unknown;
  insertFromSelect?: unknown;
}

/**
 * Installs the hook into TypeORM, once per TypeORM copy (the marker lives on the patched
 * prototype, so a second copy of typeorm-occ does not patch twice).
 */
export function installPersistenceHook(hook: PersistenceHook): void {
  // Every shape is checked before anything is patched: all or nothing.
  const executorPrototype = loadPrototype("typeorm/persistence/SubjectExecutor", "SubjectExecutor", [...Object.values(EXECUTOR_METHODS), "recompute"]);
  if (executorPrototype[PATCHED]) return;
  const persistPrototype = loadPrototype("typeorm/persistence/EntityPersistExecutor", "EntityPersistExecutor", ["execute"]);
  const managerPrototype = checkedPrototype(EntityManager, ["transaction"]);
  const dataSourcePrototype = checkedPrototype(DataSource, ["buildMetadatas", "query"]);
  const softDeletePrototype = loadPrototype("typeorm/query-builder/SoftDeleteQueryBuilder", "SoftDeleteQueryBuilder", ["execute"]);
  const builderPrototypes = [InsertQueryBuilder, UpdateQueryBuilder, DeleteQueryBuilder].map((builder) => checkedPrototype(builder, ["execute"]));

  for (const [hookName, methodName] of Object.entries(EXECUTOR_METHODS) as [keyof typeof EXECUTOR_METHODS, string][]) {
    const original = executorPrototype[methodName] as AsyncMethod;
    executorPrototype[methodName] = sameArity(original, function (this: PersistenceUnit) {
      return hook[hookName](this, () => original.call(this) as Promise<void>);
    });
  }
  // TypeORM skips a unit with nothing to write; one whose versions must still be compared runs.
  const recompute = executorPrototype.recompute as (this: PersistenceUnit) => void;
  executorPrototype.recompute = sameArity(recompute, function (this: PersistenceUnit) {
    recompute.call(this);
    if (this.hasExecutableOperations !== true && this.hasExecutableOperations !== false) incompatible("SubjectExecutor.hasExecutableOperations");
    if (!this.hasExecutableOperations && hook.mustRun(this)) this.hasExecutableOperations = true;
  });
  executorPrototype[PATCHED] = true;

  const persist = persistPrototype.execute as AsyncMethod;
  persistPrototype.execute = sameArity(persist, function (this: PersistCall & { connection?: DataSource }) {
    const call: PersistCall = { dataSource: dataSourceOf(this), queryRunner: this.queryRunner, options: this.options };
    return hook.persist(call, () => persist.call(this) as Promise<void>);
  });

  const transaction = managerPrototype.transaction as AsyncMethod;
  managerPrototype.transaction = sameArity(transaction, function (this: EntityManager, ...args: unknown[]) {
    if (this.queryRunner) return transaction.apply(this, args);
    return hook.writeUnit(dataSourceOf(this), () => transaction.apply(this, args));
  });
  // Raw SQL (DataSource.query, EntityManager.query, DataSource.sql) without a caller's query runner.
  const rawQuery = dataSourcePrototype.query as AsyncMethod;
  dataSourcePrototype.query = sameArity(rawQuery, function (this: DataSource, ...args: unknown[]) {
    if (args[2]) return rawQuery.apply(this, args);
    return hook.writeUnit(this, () => rawQuery.apply(this, args));
  });

  for (const prototype of [...builderPrototypes, softDeletePrototype]) {
    const execute = prototype.execute as AsyncMethod;
    prototype.execute = sameArity(execute, function (this: QueryBuilderShape) {
      return hook.builderWrite(builderWriteOf(this), () => execute.call(this));
    });
  }

  const buildMetadatas = dataSourcePrototype.buildMetadatas as AsyncMethod;
  dataSourcePrototype.buildMetadatas = sameArity(buildMetadatas, async function (this: DataSource, ...args: unknown[]) {
    try {
      await buildMetadatas.apply(this, args);
    } catch (error) {
      throw hook.metadataRejected(this, error);
    }
    hook.metadataBuilt(this);
  });
}

interface QueryBuilderShape {
  expressionMap: BuilderState;
  queryRunner?: QueryRunner;
  connection?: DataSource;
  dataSource?: DataSource;
}

/**
 * A wrapper keeps the original's arity: other add-ons check it before patching on top of us
 * (typeorm-transactional refuses a `DataSource.query` whose length is not 3).
 */
function sameArity<T extends Function>(original: Function, wrapper: T): T {
  Object.defineProperty(wrapper, "length", { value: original.length });
  return wrapper;
}

function builderWriteOf(builder: QueryBuilderShape): BuilderWrite {
  const map = builder.expressionMap;
  const kinds: Record<string, BuilderWrite["kind"]> = {
    insert: "insert",
    update: "update",
    delete: "delete",
    "soft-delete": "soft-delete",
    restore: "restore",
  };
  const kind = kinds[map.queryType];
  if (!kind) incompatible(`a query builder of type "${map.queryType}"`);
  const values = map.valuesSet === undefined ? [] : Array.isArray(map.valuesSet) ? map.valuesSet : [map.valuesSet];
  return {
    kind,
    dataSource: dataSourceOf(builder),
    metadata: map.mainAlias?.hasMetadata ? map.mainAlias.metadata : undefined,
    values,
    upsert: kind === "insert" && Boolean(map.onUpdate || map.onConflict),
    fromSelect: kind === "insert" && Boolean(map.insertFromSelect),
    queryRunner: builder.queryRunner,
  };
}

/** TypeORM 1.x names the field `dataSource`; 0.3.x `connection`. */
function dataSourceOf(owner: { dataSource?: DataSource; connection?: DataSource }): DataSource {
  const dataSource = owner.dataSource ?? owner.connection;
  if (!dataSource) incompatible(`${owner.constructor?.name ?? "an object"} without its DataSource`);
  return dataSource;
}

/** The depth of nested transactions (savepoints) a query runner is in; 0 outside a transaction. */
export function transactionDepthOf(queryRunner: QueryRunner): number {
  const depth = (queryRunner as unknown as { transactionDepth?: unknown }).transactionDepth;
  if (typeof depth === "number") return depth;
  return queryRunner.isTransactionActive ? 1 : 0;
}

function checkedPrototype(owner: { name: string; prototype: unknown }, methods: readonly string[]): Record<string | symbol, unknown> {
  const prototype = owner.prototype as Record<string | symbol, unknown>;
  const missing = methods.filter((name) => typeof prototype[name] !== "function");
  if (missing.length > 0) incompatible(`${owner.name} lacks ${missing.join(", ")}`);
  return prototype;
}

function loadPrototype(path: string, exportName: string, methods: readonly string[]): Record<string | symbol, unknown> {
  let exported: Record<string, { name: string; prototype?: Record<string | symbol, unknown> } | undefined>;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    exported = require(path);
  } catch (cause) {
    throw new TypeOrmCompatibilityError(
      `typeorm-occ could not load ${path}; install a TypeORM version within typeorm-occ's peerDependencies range`,
      { cause },
    );
  }
  const owner = exported[exportName];
  if (!owner?.prototype) incompatible(`${exportName} lacks its prototype`);
  return checkedPrototype(owner as { name: string; prototype: unknown }, methods);
}

function incompatible(what: string): never {
  throw new TypeOrmCompatibilityError(
    `typeorm-occ does not support this TypeORM version: ${what}. ` +
      "Versioned saves would be unchecked, so typeorm-occ refuses to load; install a TypeORM version within its peerDependencies range",
  );
}

/**
 * Turns `:name` / `:...list` placeholders into the driver's own, for SQL TypeORM's builders cannot
 * express (a recursive CTE). 0.3.x takes a third `nativeParameters` argument; 1.x ignores it.
 */
export function escapeQueryWithParameters(dataSource: DataSource, sql: string, parameters: ObjectLiteral): [string, unknown[]] {
  const driver = dataSource.driver as unknown as {
    escapeQueryWithParameters(sql: string, parameters: ObjectLiteral, nativeParameters: ObjectLiteral): [string, unknown[]];
  };
  return driver.escapeQueryWithParameters(sql, parameters, {});
}
