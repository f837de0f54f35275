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
 *   guard and the SQLite write gate; `EntityManager.clear` (TRUNCATE), which uses no builder: the
 *   same; `DataSource.query` (raw SQL): the SQLite write gate;
 * - `EntityMetadataValidator.validateMany`, the last step of `DataSource.buildMetadatas`:
 *   entities are validated at `initialize()`;
 * - `SubjectDatabaseEntityLoader.load` (save()'s pre-load): a copy whose read the library knows
 *   is handed over as the loaded row, so TypeORM does not SELECT it again;
 * - `BaseEntity.reload` and `EntityManager.merge` (public API): a copy refreshed in place takes
 *   over the fresh read; `SelectQueryBuilder.executeEntitiesAndRawResults`: copies hydrated with
 *   `callListeners(false)` (no afterLoad) are stamped all the same.
 * It also bridges what differs between TypeORM 0.3.20+ and 1.x (the `connection` / `dataSource`
 * field names, builder options that exist in one line only), so the rest of typeorm-occ sees one
 * TypeORM. The shapes used are declared here as narrow interfaces and checked before patching
 * (methods on prototypes, fields on throwaway instances) and at `initialize()` (query builders and
 * query runners on the real DataSource), so an incompatible TypeORM fails with
 * `TypeOrmCompatibilityError` instead of a TypeError mid-request or, worse, an unguarded save.
 *
 * Verified range: ./typeorm-version.ts (the same as `peerDependencies.typeorm`, checked by test/internals).
 */
import {
  BaseEntity,
  DataSource as DataSourceClass,
  DeleteQueryBuilder,
  EntityManager,
  InsertQueryBuilder,
  SelectQueryBuilder,
  UpdateQueryBuilder,
  type DataSource,
  type EntityMetadata,
  type ObjectLiteral,
  type QueryRunner,
} from "typeorm";
import { TypeOrmCompatibilityError } from "../errors";
import { metadataOfTablePath } from "./table-target";
import { runInTransactionScope } from "./transaction-scope";
import { assertVerifiedTypeOrm } from "./typeorm-version";

/** The parts of TypeORM's internal `Subject` that typeorm-occ reads or drives. */
export interface PersistenceSubject {
  metadata: EntityMetadata;
  identifier: ObjectLiteral | undefined;
  parentSubject?: PersistenceSubject;
  entity?: ObjectLiteral;
  /** The row as TypeORM pre-loaded it; set beforehand (with `databaseEntityLoaded`), TypeORM loads nothing for the subject. */
  databaseEntity?: ObjectLiteral;
  databaseEntityLoaded?: boolean;
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
  /** Makes the call run without the transaction TypeORM would open for it (decided before it opens one). */
  dropOwnTransaction(): void;
}

/** TypeORM's pre-load of the rows one save()/remove() writes (`SubjectDatabaseEntityLoader.load`). */
export interface PreloadCall {
  readonly queryRunner: QueryRunner;
  readonly subjects: PersistenceSubject[];
  readonly operation: "save" | "remove" | "soft-remove" | "recover";
}

/** A write sent through one of TypeORM's query builders, as the write guard sees it. */
export interface BuilderWrite {
  /** `clear`: `EntityManager.clear()` / `Repository.clear()` (TRUNCATE, or DELETE of every row on SQLite). */
  kind: "insert" | "update" | "delete" | "soft-delete" | "restore" | "clear";
  dataSource: DataSource;
  /** The target entity; undefined for a builder on a raw table name that reaches no entity's table. */
  metadata: EntityMetadata | undefined;
  /**
   * The builder names the entity's table by a raw name TypeORM did not match to it (schema-qualified):
   * it builds the statement without the entity, so it adds no `version + 1` and writes no initial version.
   */
  rawTable: boolean;
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
  /** Before TypeORM pre-loads the subjects' rows: a subject given its `databaseEntity` here is not loaded. */
  preload(call: PreloadCall): void;
  /** Around `BaseEntity.reload()`: the entity is refreshed in place from a new read. */
  reloaded(entity: ObjectLiteral, original: () => Promise<void>): Promise<void>;
  /** A query builder with `callListeners(false)` hydrated these entities of `metadata` (no afterLoad fired). */
  hydratedQuietly(metadata: EntityMetadata, entities: ObjectLiteral[], queryRunner: QueryRunner | undefined): void;
  /** After `EntityManager.merge()` (and so `Repository.merge()`): `target` took the sources' values. */
  merged(metadata: EntityMetadata, target: ObjectLiteral, sources: unknown[]): void;
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
type Prototype = Record<string | symbol, unknown>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type TypeOrmClass = { name: string; prototype: unknown; new (...args: any[]): object };

/** The expression map fields of a query builder the write guard reads. */
interface BuilderState {
  queryType: string;
  /** `tablePath`: the raw table name of a builder on a string target without metadata. */
  mainAlias?: { hasMetadata: boolean; metadata: EntityMetadata; tablePath?: string };
  valuesSet?: ObjectLiteral | ObjectLiteral[];
  onUpdate?: unknown;
  /** 0.3 only (`onConflict()`); 1.x has `orUpdate()` alone. */
  onConflict?: unknown;
  /** 1.x only (`valuesFromSelect()`). */
  insertFromSelect?: unknown;
}

interface QueryBuilderShape {
  expressionMap: BuilderState;
  queryRunner?: QueryRunner;
  connection?: DataSource;
  dataSource?: DataSource;
  execute(): Promise<unknown>;
}

/** The query-builder wrappers installed here, so the probes can tell that TypeORM's builders run them. */
const builderWrappers = new WeakSet<Function>();
const probed = new WeakSet<DataSource>();

/**
 * Installs the hook into TypeORM, once per TypeORM copy (the marker lives on the patched
 * prototype, so a second copy of typeorm-occ does not patch twice).
 */
export function installPersistenceHook(hook: PersistenceHook): void {
  assertVerifiedTypeOrm();
  // Every shape is checked before anything is patched: all or nothing.
  const SubjectExecutor = loadClass("typeorm/persistence/SubjectExecutor", "SubjectExecutor", [
    ...Object.values(EXECUTOR_METHODS),
    "recompute",
  ]);
  const executorPrototype = SubjectExecutor.prototype as Prototype;
  if (executorPrototype[PATCHED]) return;
  const Subject = loadClass("typeorm/persistence/Subject", "Subject", ["createValueSetAndPopChangeMap"]);
  const EntityPersistExecutor = loadClass("typeorm/persistence/EntityPersistExecutor", "EntityPersistExecutor", ["execute"]);
  const EntityLoader = loadClass("typeorm/persistence/SubjectDatabaseEntityLoader", "SubjectDatabaseEntityLoader", ["load"]);
  const Validator = loadClass("typeorm/metadata-builder/EntityMetadataValidator", "EntityMetadataValidator", ["validateMany"]);
  const SoftDeleteQueryBuilder = loadClass("typeorm/query-builder/SoftDeleteQueryBuilder", "SoftDeleteQueryBuilder", ["execute"]);
  const builders = [InsertQueryBuilder, UpdateQueryBuilder, DeleteQueryBuilder, SoftDeleteQueryBuilder];
  checkMethods(SelectQueryBuilder, ["executeEntitiesAndRawResults"]);
  builders.forEach((builder) => checkMethods(builder, ["execute"]));
  checkMethods(EntityManager, ["transaction", "merge", "clear"]);
  checkMethods(BaseEntity, ["reload"]);
  checkMethods(DataSourceClass, ["query"]);
  probeUnitOfWork(Subject, SubjectExecutor);
  probeEntryPoints(EntityPersistExecutor);
  probePreload(Subject, EntityLoader);

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
    if (this.hasExecutableOperations !== true && this.hasExecutableOperations !== false)
      incompatible("SubjectExecutor.hasExecutableOperations");
    if (!this.hasExecutableOperations && hook.mustRun(this)) this.hasExecutableOperations = true;
  });
  executorPrototype[PATCHED] = true;

  const persistPrototype = EntityPersistExecutor.prototype as Prototype;
  const persist = persistPrototype.execute as AsyncMethod;
  persistPrototype.execute = sameArity(persist, function (this: PersistCallShape) {
    return hook.persist(persistCallOf(this), () => persist.call(this) as Promise<void>);
  });

  const loaderPrototype = EntityLoader.prototype as Prototype;
  const load = loaderPrototype.load as AsyncMethod;
  loaderPrototype.load = sameArity(load, function (this: PreloadShape, operation: unknown) {
    hook.preload({ queryRunner: this.queryRunner, subjects: this.subjects, operation: operation as PreloadCall["operation"] });
    return load.call(this, operation);
  });

  const managerPrototype = EntityManager.prototype as unknown as Prototype;
  // Copies refreshed in place (public API, wrapped so the copy takes over the fresh read).
  const merge = managerPrototype.merge as (this: EntityManager, ...args: unknown[]) => ObjectLiteral;
  managerPrototype.merge = sameArity(merge, function (this: EntityManager, target: unknown, into: unknown, ...sources: unknown[]) {
    const merged = merge.call(this, target, into, ...sources);
    hook.merged(dataSourceOf(this).getMetadata(target as Function), merged, sources);
    return merged;
  });
  // A read with listeners off fires no afterLoad: the copies it hydrated are announced here.
  const selectPrototype = SelectQueryBuilder.prototype as unknown as Prototype;
  const hydrate = selectPrototype.executeEntitiesAndRawResults as AsyncMethod;
  selectPrototype.executeEntitiesAndRawResults = sameArity(hydrate, async function (this: SelectShape, queryRunner: unknown) {
    const result = (await hydrate.call(this, queryRunner)) as { entities?: unknown };
    const alias = this.expressionMap.mainAlias;
    if (this.expressionMap.callListeners === false && alias?.hasMetadata && Array.isArray(result.entities)) {
      hook.hydratedQuietly(alias.metadata, result.entities as ObjectLiteral[], queryRunner as QueryRunner | undefined);
    }
    return result;
  });
  const entityPrototype = BaseEntity.prototype as unknown as Prototype;
  const reload = entityPrototype.reload as AsyncMethod;
  entityPrototype.reload = sameArity(reload, function (this: ObjectLiteral) {
    return hook.reloaded(this, () => reload.call(this) as Promise<void>);
  });
  const transaction = managerPrototype.transaction as AsyncMethod;
  managerPrototype.transaction = sameArity(transaction, function (this: EntityManager, ...args: unknown[]) {
    const dataSource = dataSourceOf(this);
    // The callback runs marked as inside this transaction (see ./transaction-scope.ts).
    const marked = args.map((arg) =>
      typeof arg === "function"
        ? (manager: EntityManager) =>
            manager?.queryRunner ? runInTransactionScope(dataSource, manager.queryRunner, () => arg(manager)) : arg(manager)
        : arg,
    );
    if (this.queryRunner) return transaction.apply(this, marked);
    return hook.writeUnit(dataSource, () => transaction.apply(this, marked));
  });
  // clear() sends the query runner's clearTable (TRUNCATE) itself, without a query builder.
  const clear = managerPrototype.clear as AsyncMethod;
  managerPrototype.clear = sameArity(clear, function (this: EntityManager, ...args: unknown[]) {
    const dataSource = dataSourceOf(this);
    const target = args[0] as Parameters<DataSource["hasMetadata"]>[0];
    const write: BuilderWrite = {
      kind: "clear",
      dataSource,
      // Without metadata TypeORM's own clear() throws its EntityMetadataNotFoundError, as before.
      metadata: dataSource.hasMetadata(target) ? dataSource.getMetadata(target) : undefined,
      rawTable: false,
      values: [],
      upsert: false,
      fromSelect: false,
      queryRunner: this.queryRunner,
    };
    return hook.builderWrite(write, () => clear.apply(this, args));
  });
  // Raw SQL (DataSource.query, EntityManager.query, DataSource.sql) without a caller's query runner.
  const dataSourcePrototype = DataSourceClass.prototype as unknown as Prototype;
  const rawQuery = dataSourcePrototype.query as AsyncMethod;
  dataSourcePrototype.query = sameArity(rawQuery, function (this: DataSource, ...args: unknown[]) {
    if (args[2]) return rawQuery.apply(this, args);
    return hook.writeUnit(this, () => rawQuery.apply(this, args));
  });

  for (const builder of builders) {
    const prototype = builder.prototype as Prototype;
    const execute = prototype.execute as AsyncMethod;
    prototype.execute = sameArity(execute, function (this: QueryBuilderShape) {
      return hook.builderWrite(builderWriteOf(this), () => execute.call(this));
    });
    builderWrappers.add(prototype.execute as Function);
  }

  // The last step of DataSource.buildMetadatas (initialize()). Looked up when it is called, so the
  // wrapper also runs when the entity files that load typeorm-occ are imported by that very build
  // (`entities: ["dist/**/*.entity.js"]`), which a wrapper of buildMetadatas itself would miss.
  const validatorPrototype = Validator.prototype as Prototype;
  const validateMany = validatorPrototype.validateMany as (this: unknown, ...args: unknown[]) => void;
  validatorPrototype.validateMany = sameArity(validateMany, function (this: unknown, ...args: unknown[]) {
    const dataSource = dataSourceOf(args[1] as { dataSource?: DataSource; connection?: DataSource });
    try {
      validateMany.apply(this, args);
    } catch (error) {
      throw hook.metadataRejected(dataSource, error);
    }
    probeDataSource(dataSource);
    hook.metadataBuilt(dataSource);
  });
}

interface PersistCallShape {
  dataSource?: DataSource;
  connection?: DataSource;
  queryRunner?: QueryRunner;
  options?: PersistCall["options"];
}

/** The expression map fields of a select query builder read after it hydrated its rows. */
interface SelectShape {
  expressionMap: { callListeners: boolean; mainAlias?: { hasMetadata: boolean; metadata: EntityMetadata } };
}

interface PreloadShape {
  queryRunner: QueryRunner;
  subjects: PersistenceSubject[];
}

function persistCallOf(executor: PersistCallShape): PersistCall {
  return {
    dataSource: dataSourceOf(executor),
    queryRunner: executor.queryRunner,
    options: executor.options,
    // TypeORM reads `options.transaction` after the pre-load: a copy, so the caller's options object stays as given.
    dropOwnTransaction: () => {
      executor.options = { ...executor.options, transaction: false };
    },
  };
}

/** The pre-load's fields: its query runner and the subjects it loads (all of one save()/remove() unit). */
function probePreload(Subject: TypeOrmClass, EntityLoader: TypeOrmClass): void {
  probe("SubjectDatabaseEntityLoader", () => {
    const subject = new Subject({ metadata: {}, identifier: { id: 1 } });
    expectFields("Subject", subject, { databaseEntityLoaded: is(false) });
    const queryRunner = {};
    expectFields("SubjectDatabaseEntityLoader", new EntityLoader(queryRunner, [subject]), {
      queryRunner: is(queryRunner),
      subjects: isArrayOf(subject),
    });
  });
}

/**
 * Routes every statement sent through a query runner that all callers share (the SQLite drivers')
 * through `around`, reads included: the SQLite write gate then keeps a read outside any write unit
 * from running inside another caller's open transaction (and seeing its uncommitted rows).
 * `query` is public API; it is wrapped on this one instance, once, and delegates to the original.
 */
export function routeSharedRunnerQueries(runner: QueryRunner, around: <T>(work: () => Promise<T>) => Promise<T>): void {
  const instance = runner as unknown as Prototype;
  if (instance[PATCHED]) return;
  const query = instance.query;
  if (typeof query !== "function") incompatible("QueryRunner.query");
  instance.query = sameArity(query, function (this: QueryRunner, ...args: unknown[]) {
    return around(() => (query as AsyncMethod).apply(this, args));
  });
  instance[PATCHED] = true;
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
  const dataSource = dataSourceOf(builder);
  const alias = map.mainAlias;
  // A raw table name may still reach an entity's table (schema-qualified, or another case on SQLite).
  const rawTable =
    !alias?.hasMetadata && typeof alias?.tablePath === "string" ? metadataOfTablePath(dataSource, alias.tablePath) : undefined;
  return {
    kind,
    dataSource,
    metadata: alias?.hasMetadata ? alias.metadata : rawTable,
    rawTable: rawTable !== undefined,
    values,
    upsert: kind === "insert" && Boolean(map.onUpdate || map.onConflict),
    fromSelect: kind === "insert" && Boolean(map.insertFromSelect),
    queryRunner: builder.queryRunner,
  };
}

/**
 * The DataSource a query runner, entity manager, entity metadata or executor belongs to: the field is
 * `dataSource` in TypeORM 1.x (with a deprecated `connection` getter) and `connection` in 0.3.
 */
export function dataSourceOf(owner: { dataSource?: DataSource; connection?: DataSource } | undefined): DataSource {
  const dataSource = owner?.dataSource ?? owner?.connection;
  if (!dataSource) incompatible(`${owner?.constructor?.name ?? "an object"} without its DataSource`);
  return dataSource;
}

/** The depth of nested transactions (savepoints) a query runner is in; 0 outside a transaction. */
export function transactionDepthOf(queryRunner: QueryRunner): number {
  const depth = (queryRunner as unknown as { transactionDepth?: unknown }).transactionDepth;
  if (typeof depth === "number") return depth;
  return queryRunner.isTransactionActive ? 1 : 0;
}

type FieldCheck = (value: unknown) => boolean;
const is =
  (expected: unknown): FieldCheck =>
  (value) =>
    value === expected;
const isArrayOf =
  (...items: unknown[]): FieldCheck =>
  (value) =>
    Array.isArray(value) && value.length === items.length && items.every((item, i) => value[i] === item);

/** Fails unless every field of `instance` passes its check; `in` tells a field TypeORM sets to undefined from one it lacks. */
function expectFields(what: string, instance: object, checks: Record<string, FieldCheck | "in">): void {
  const wrong = Object.entries(checks)
    .filter(([field, check]) => (check === "in" ? !(field in instance) : !check((instance as Record<string, unknown>)[field])))
    .map(([field]) => field);
  if (wrong.length > 0) incompatible(`${what} ${wrong.join(", ")} not as expected`);
}

/**
 * What a save's unit of work exposes is only visible on instances: build throwaway ones (no
 * entity, so TypeORM reads nothing from the stand-in metadata) and check every field read.
 */
function probeUnitOfWork(Subject: TypeOrmClass, SubjectExecutor: TypeOrmClass): void {
  probe("SubjectExecutor", () => {
    const metadata = {};
    const identifier = { id: 1 };
    const subject = new Subject({ metadata, identifier, mustBeRemoved: true });
    expectFields("Subject", subject, {
      metadata: is(metadata),
      identifier: is(identifier),
      entity: "in",
      parentSubject: "in",
      changeMaps: isArrayOf(),
      mustBeInserted: is(false),
      mustBeUpdated: is(false),
      mustBeRemoved: is(true),
      mustBeSoftRemoved: is(false),
      mustBeRecovered: is(false),
    });
    const queryRunner = {};
    const options = {};
    const unit = new SubjectExecutor(queryRunner, [subject], options);
    expectFields("SubjectExecutor", unit, {
      queryRunner: is(queryRunner),
      options: is(options),
      allSubjects: isArrayOf(subject),
      insertSubjects: isArrayOf(),
      updateSubjects: isArrayOf(),
      removeSubjects: isArrayOf(subject),
      softRemoveSubjects: isArrayOf(),
      recoverSubjects: isArrayOf(),
    });
  });
}

/** The save()/transaction() entry points: where their DataSource, query runner and options live. */
function probeEntryPoints(EntityPersistExecutor: TypeOrmClass): void {
  probe("EntityPersistExecutor", () => {
    const dataSource = {} as DataSource;
    const queryRunner = {} as QueryRunner;
    const options = { transaction: false };
    const standalone = persistCallOf(new EntityPersistExecutor(dataSource, undefined, "save", undefined, {}, options));
    const bound = persistCallOf(new EntityPersistExecutor(dataSource, queryRunner, "save", undefined, {}, undefined));
    expectFields("EntityPersistExecutor", standalone, { dataSource: is(dataSource), queryRunner: is(undefined), options: is(options) });
    expectFields("EntityPersistExecutor", bound, { queryRunner: is(queryRunner), options: is(undefined) });
    const manager = new EntityManager(dataSource);
    expectFields(
      "EntityManager",
      { dataSource: dataSourceOf(manager), queryRunner: manager.queryRunner },
      { dataSource: is(dataSource), queryRunner: is(undefined) },
    );
    expectFields("EntityManager", new EntityManager(dataSource, queryRunner), { queryRunner: is(queryRunner) });
  });
}

/**
 * The query builders and query runners of a DataSource, checked once it is initialized: every
 * write a builder can express must reach the wrapper with what the write guard reads. Builds
 * statements without sending them; the query runner is created, never connected.
 */
function probeDataSource(dataSource: DataSource): void {
  // MongoDB has no query builders or SQL query runners to probe, and nothing typeorm-occ guards.
  if (probed.has(dataSource) || dataSource.options.type === "mongodb") return;
  probe("DataSource", () => {
    const queryRunner = dataSource.createQueryRunner();
    expectFields("QueryRunner", queryRunner, {
      transactionDepth: (value) => value === 0,
      isTransactionActive: is(false),
      // The rest of typeorm-occ reads it (a deprecated getter in 1.x).
      connection: is(dataSource),
    });
    const table = "typeorm_occ_probe";
    const builder = () => dataSource.createQueryBuilder();
    const expectWrite = (qb: unknown, expected: Partial<Record<keyof BuilderWrite, FieldCheck>>) => {
      const shape = qb as QueryBuilderShape;
      if (!builderWrappers.has(shape.execute)) incompatible(`${shape.constructor.name}.execute is not a method typeorm-occ wraps`);
      expectFields(`a ${shape.expressionMap.queryType} query builder's`, builderWriteOf(shape), {
        dataSource: is(dataSource),
        ...expected,
      });
    };
    const insert = () => builder().insert().into(table);
    const first = { a: 1 };
    const second = { a: 2 };
    const plainInsert = {
      kind: is("insert"),
      values: isArrayOf(first, second),
      metadata: is(undefined),
      rawTable: is(false),
      upsert: is(false),
      fromSelect: is(false),
      queryRunner: is(undefined),
    };
    expectWrite(insert().values([first, second]), plainInsert);
    expectWrite(insert().values(first).orUpdate(["a"], ["id"]), { upsert: is(true) });
    const withConflict = insert().values(first) as unknown as { onConflict?: (statement: string) => unknown };
    if (typeof withConflict.onConflict === "function") expectWrite(withConflict.onConflict(`("id") DO NOTHING`), { upsert: is(true) });
    const fromSelect = insert() as unknown as { valuesFromSelect?: (select: unknown) => unknown };
    if (typeof fromSelect.valuesFromSelect === "function")
      expectWrite(fromSelect.valuesFromSelect(builder().select("1")), { fromSelect: is(true) });
    expectWrite(builder().update(table).set(first), { kind: is("update"), values: isArrayOf(first) });
    const rawDelete = builder().delete().from(table);
    expectWrite(rawDelete, { kind: is("delete"), values: isArrayOf() });
    // Where the write guard looks for a raw table name that still reaches an entity's table.
    expectFields("a raw table's alias", (rawDelete as unknown as QueryBuilderShape).expressionMap.mainAlias ?? {}, {
      hasMetadata: is(false),
      tablePath: is(table),
    });
    expectWrite(builder().softDelete().from(table), { kind: is("soft-delete") });
    expectWrite(builder().restore().from(table), { kind: is("restore") });
    expectWrite(dataSource.createQueryBuilder(queryRunner).delete().from(table), { queryRunner: is(queryRunner) });
    const metadata = dataSource.entityMetadatas[0];
    if (metadata) {
      expectWrite(builder().update(metadata.target).set({}), { metadata: is(metadata) });
      expectFields("EntityMetadata", metadata, { connection: is(dataSource) });
    }
    const [sql, parameters] = escapeQueryWithParameters(dataSource, "SELECT :probe", { probe: "p" });
    if (sql.includes(":probe") || !Array.isArray(parameters) || !parameters.includes("p"))
      incompatible("the driver's escapeQueryWithParameters");
  });
  probed.add(dataSource);
}

/** Runs a probe; a probe that crashes means TypeORM changed under it. */
function probe(what: string, run: () => void): void {
  try {
    run();
  } catch (cause) {
    if (cause instanceof TypeOrmCompatibilityError) throw cause;
    throw new TypeOrmCompatibilityError(`${incompatibleMessage(`${what} probe failed: ${String(cause)}`)}`, { cause });
  }
}

function checkMethods(owner: { name: string; prototype: unknown }, methods: readonly string[]): void {
  const prototype = owner.prototype as Prototype;
  const missing = methods.filter((name) => typeof prototype[name] !== "function");
  if (missing.length > 0) incompatible(`${owner.name} lacks ${missing.join(", ")}`);
}

function loadClass(path: string, exportName: string, methods: readonly string[]): TypeOrmClass {
  let exported: Record<string, unknown>;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    exported = require(path);
  } catch (cause) {
    throw new TypeOrmCompatibilityError(
      `typeorm-occ could not load ${path}; install a TypeORM version within typeorm-occ's peerDependencies range`,
      { cause },
    );
  }
  const owner = exported[exportName] as TypeOrmClass | undefined;
  if (typeof owner !== "function" || !owner.prototype) incompatible(`${exportName} is not a class`);
  checkMethods(owner, methods);
  return owner;
}

function incompatibleMessage(what: string): string {
  return (
    `typeorm-occ does not support this TypeORM version: ${what}. ` +
    "Versioned saves would be unchecked, so typeorm-occ refuses to load; install a TypeORM version within its peerDependencies range"
  );
}

function incompatible(what: string): never {
  throw new TypeOrmCompatibilityError(incompatibleMessage(what));
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
