import type { EntityManager, EntityMetadata, ObjectLiteral, QueryRunner, Repository } from "typeorm";
import type { ColumnMetadata } from "typeorm/metadata/ColumnMetadata";
import type { RelationMetadata } from "typeorm/metadata/RelationMetadata";
import { aggregateGraphOf, type AggregateGraph } from "../aggregate/aggregate-graph";
import { moveRootsOfRows, type CarriedRoot } from "../aggregate/move-roots-of-rows";
import { rowRef } from "../aggregate/parent-lookup";
import { formatPrimaryKey, MissingVersionError } from "../errors";
import { dataSourceOf, transactionDepthOf } from "../internals/typeorm-internals";
import { transactionStateOf } from "../transaction/transaction-state";
import { assertStorableVersion } from "../version/version-range";
import { checkedDelete } from "../persistence/versioned-writes";
import { sendVersionedUpdate } from "./versioned-statement";
import { occVersionColumn, primaryKeyValues, rowKey } from "../version/versioned-metadata";
import {
  assertKeyValue,
  assertKnownProperties,
  assertSettableChanges,
  describe,
  invalidArgument,
  isPlainObject,
  refuseMemberMove,
  refused,
} from "./input-checks";
import { runLibraryStatements } from "./library-statements";
import { writeLockBeforeReads } from "./lock-dialect";
import { expectedVersion } from "../copies/current-copy";
import { recordMemberWrite, recordRowWrite } from "../copies/transaction-writes";

/**
 * The properties a {@link VersionedKey} must hold when none are named: `id` and `version`, when the
 * entity has both; otherwise none can be guessed, and the key type asks for them by name.
 */
export type DefaultKeyProperties<T> = "id" extends keyof T ? ("version" extends keyof T ? "id" | "version" : never) : never;

/**
 * The row to write: its whole primary key and the version the caller read (e.g. from If-Match),
 * all required at compile time. `K` names those properties: `"id" | "version"` by default, so most
 * code names nothing; an entity with a composite or differently named key, or a version property
 * not called `version`, names them: `VersionedKey<Stock, "tenant" | "sku" | "version">` (and
 * `updateVersioned<Stock, "tenant" | "sku" | "version">(…)`). Without `id` and `version`, `K` must
 * be given: the key then fails to compile until it is.
 *
 * A member of an aggregate may also carry its root's whole primary key and version under the
 * relation to it (`{ id, version, order: { id, version } }`): the root's version is then checked
 * too. Nothing else may be in the key (changes go in the changes argument).
 *
 * @example
 * const key: VersionedKey<Product> = { id: 7, version: parseIfMatch(req.headers["if-match"]) };
 * const stockKey: VersionedKey<Stock, "tenant" | "sku" | "version"> = { tenant: "acme", sku: "A-1", version: 3 };
 */
export type VersionedKey<T, K extends keyof T = DefaultKeyProperties<T>> = [K] extends [never]
  ? KeyPropertiesNotNamed
  : { [P in K]-?: NonNullable<T[P]> } & (string extends keyof T ? ObjectLiteral : CarriedRootKeys<T, K>);

/** A member's key may carry a root's key under the relation to it; no other property is allowed. */
type CarriedRootKeys<T, K extends keyof T> = {
  [P in Exclude<keyof T, K>]?: NonNullable<T[P]> extends readonly unknown[]
    ? never
    : NonNullable<T[P]> extends ObjectLiteral
      ? VersionedKey<NonNullable<T[P]>>
      : never;
};

/** What the compiler shows when an entity has no `id` and `version` and the key's properties were not named. */
interface KeyPropertiesNotNamed {
  "this entity has no id and version: name its key's properties, e.g. updateVersioned<Stock, 'tenant' | 'sku' | 'version'>(…)": never;
}

/** `K` as given or defaulted, never inferred from the key itself (that would accept whatever the key holds). */
type Named<K> = [K][K extends unknown ? 0 : never];

/** What `updateVersioned` may set: plain values, or SQL expressions (`() => "stock - 1"`, written as is: never from user input). */
export type UpdateVersionedChanges<T> = { [P in keyof T]?: T[P] | (() => string) };

export interface UpdateVersionedResult {
  /** The row's version after the write (the version read plus one, or the transaction's own when it already moved the row). */
  version: number;
}

/**
 * The version check in one statement, with no read before it: `UPDATE … SET …, version = :v + 1
 * WHERE <pk> AND version = :v`. Zero rows raise `StaleDataError`, as from save(): the row's
 * current version (`null` when it is gone) is read only on that failure path. No transaction of
 * its own; joins the caller's when `repository` comes from a transactional manager.
 *
 * A member row of an aggregate (with its own `@VersionColumn()`) moves its root's version too,
 * unchecked, once per transaction, like a member saved through its own repository: then the root
 * and the row are written in one transaction (a savepoint inside the caller's). Given the root's
 * version too (`{ id, version, order: { id, version } }`, the root under the member's relation to
 * it), the root's move is checked against it: a root that moved since raises `StaleDataError`
 * naming the root, and nothing is written. Changes may not
 * set the version, the primary key, or (for a member) the relation to its parent: move a member
 * with save(). Entity listeners and subscribers' update events do not fire.
 *
 * @example
 * import { parseVersion, updateVersioned } from "typeorm-occ";
 *
 * // UPDATE product SET price = $1, version = $2 WHERE id = $3 AND version = $4
 * const { version } = await updateVersioned(products, { id, version: parseVersion(ifMatch) }, { price: 12 });
 */
export async function updateVersioned<T extends ObjectLiteral, K extends keyof T = DefaultKeyProperties<T>>(
  repository: Repository<T>,
  key: VersionedKey<T, Named<K>>,
  changes: UpdateVersionedChanges<T>,
): Promise<UpdateVersionedResult> {
  const operation = "updateVersioned";
  const { metadata, manager } = repository;
  const target = versionedTarget(metadata, operation, key);
  const values = checkedChanges(metadata, changes);
  return write(manager, metadata, target, "update", async (queryRunner) => {
    // A version moves once per transaction: a row this transaction already moved keeps that version.
    const state = queryRunner.isTransactionActive ? transactionStateOf(queryRunner) : undefined;
    const rowId = rowKey(metadata, target.primaryKey);
    const expected = expectedVersionOfKey(queryRunner, metadata, target, "update");
    const next = state?.movedVersion(rowId)?.to === expected ? expected : expected + 1;
    await sendVersionedUpdate(queryRunner, {
      metadata,
      versionColumn: target.versionColumn,
      identifier: target.primaryKey,
      values,
      expectedVersion: expected,
      nextVersion: next,
      entity: undefined,
      reload: false,
    });
    if (state && next !== expected) state.recordMove(rowId, { from: expected, to: next }, transactionDepthOf(queryRunner));
    return { version: next };
  });
}

/**
 * `DELETE … WHERE <pk> AND version = :v`, with no read before it. Zero rows raise
 * `StaleDataError` (`actualVersion` `null` when the row was already gone). A member row moves its
 * root's version too, as in {@link updateVersioned}.
 *
 * @example
 * await deleteVersioned(products, { id, version: parseVersion(ifMatch) });
 */
export async function deleteVersioned<T extends ObjectLiteral, K extends keyof T = DefaultKeyProperties<T>>(
  repository: Repository<T>,
  key: VersionedKey<T, Named<K>>,
): Promise<void> {
  const { metadata, manager } = repository;
  const target = versionedTarget(metadata, "deleteVersioned", key);
  await write(manager, metadata, target, "delete", async (queryRunner) => {
    const expected = expectedVersionOfKey(queryRunner, metadata, target, "delete");
    await checkedDelete(queryRunner, metadata, target.versionColumn, [
      { identifier: target.primaryKey, expectedVersion: expected, entity: undefined },
    ]);
  });
}

interface VersionedTarget {
  versionColumn: ColumnMetadata;
  primaryKey: ObjectLiteral;
  version: number;
  member: boolean;
  /** Roots the key carries with the version the caller read of them: their moves are checked. */
  roots: CarriedRoot[];
}

/** The version the key's write checks in the transaction (see expectedVersion): a key is built by hand, so its version is the claim. */
function expectedVersionOfKey(
  queryRunner: QueryRunner,
  metadata: EntityMetadata,
  target: VersionedTarget,
  operation: "update" | "delete",
): number {
  return expectedVersion(queryRunner, {
    metadata,
    versionColumn: target.versionColumn,
    identifier: target.primaryKey,
    carried: target.version,
    copy: undefined,
    operation,
  });
}

/**
 * Runs the statement on the caller's query runner or a new one; a member's root moves first, in one
 * transaction with it. What it wrote is recorded in the caller's transaction (see CopyClaim).
 */
async function write<R>(
  manager: EntityManager,
  metadata: EntityMetadata,
  target: VersionedTarget,
  change: "update" | "delete",
  statement: (queryRunner: QueryRunner) => Promise<R>,
): Promise<R> {
  return runLibraryStatements(manager, async () => {
    if (target.member) {
      return manager.transaction(async (transactional) => {
        const queryRunner = transactional.queryRunner!;
        await writeLockBeforeReads(queryRunner, metadata);
        const roots = await moveRootsOfRows(queryRunner, metadata, [target.primaryKey], manager.queryRunner !== undefined, target.roots);
        const above = roots.get(rowKey(metadata, target.primaryKey)) ?? [];
        // A root the key names that the row is not under was checked for nothing: refused (and rolled back).
        const foreign = target.roots.find((root) => !above.includes(root.ref.key));
        if (foreign && above.length > 0) {
          const name = `${foreign.ref.metadata.name}#${formatPrimaryKey(primaryKeyValues(foreign.ref.metadata, foreign.ref.primaryKey))}`;
          throw invalidArgument(
            metadata.name,
            change === "update" ? "updateVersioned" : "deleteVersioned",
            `the key names ${name} as its root, but the row is not in that aggregate`,
          );
        }
        const result = await statement(queryRunner);
        recordRowWrite(queryRunner, metadata, target.primaryKey);
        recordMemberWrite(queryRunner, above, change, { metadata, identifier: target.primaryKey });
        return result;
      });
    }
    if (manager.queryRunner) {
      const result = await statement(manager.queryRunner);
      recordRowWrite(manager.queryRunner, metadata, target.primaryKey);
      return result;
    }
    const queryRunner = dataSourceOf(manager).createQueryRunner();
    try {
      return await statement(queryRunner);
    } finally {
      await queryRunner.release();
    }
  });
}

/** The key's primary key and version, checked before anything is sent. */
function versionedTarget(metadata: EntityMetadata, operation: string, key: unknown): VersionedTarget {
  const versionColumn = occVersionColumn(metadata);
  if (!versionColumn) {
    throw invalidArgument(
      metadata.name,
      operation,
      `${metadata.name} has no @VersionColumn() from typeorm-occ to check; use updateIf() for a conditional write`,
    );
  }
  if (!isPlainObject(key))
    throw invalidArgument(
      metadata.name,
      operation,
      `the key must be an object with the primary key and ${versionColumn.propertyPath}, got ${describe(key)}`,
    );
  assertKnownProperties(metadata, operation, key, "the key");
  const graph = aggregateGraphOf(dataSourceOf(metadata));
  const rootLinks = new Map(carriableRoots(graph, metadata).map((relation) => [relation.propertyName, relation]));
  const allowed = new Set([...metadata.primaryColumns, versionColumn].map((column) => column.propertyPath.split(".")[0]));
  const extra = Object.keys(key).filter((name) => !allowed.has(name) && !rootLinks.has(name));
  if (extra.length > 0) {
    const roots = [...rootLinks.keys()].map((name) => `, its root's key and version under ${name}`).join("");
    throw invalidArgument(
      metadata.name,
      operation,
      `the key holds ${extra.join(", ")}: it names the row by primary key and ${versionColumn.propertyPath}${roots} only (put changes in the changes argument)`,
    );
  }
  const primaryKey: ObjectLiteral = {};
  for (const column of metadata.primaryColumns) {
    const value: unknown = column.getEntityValue(key);
    if (value === undefined || value === null)
      throw invalidArgument(metadata.name, operation, `the key has no ${column.propertyPath} (the whole primary key names the row)`);
    assertKeyValue(metadata, operation, column, value, `the key's ${column.propertyPath}`);
    column.setEntityValue(primaryKey, value);
  }
  const given: unknown = versionColumn.getEntityValue(key);
  if (given === undefined || given === null) {
    const version = versionColumn.propertyPath;
    throw new MissingVersionError(
      metadata.name,
      version,
      primaryKeyValues(metadata, primaryKey),
      `the key given to ${operation} has no ${version}: pass the version the client read beside the primary key, e.g. ${keyExample(primaryKeyValues(metadata, primaryKey), version)} (from If-Match: parseIfMatch())`,
    );
  }
  const version = assertStorableVersion(metadata, versionColumn, given);
  if (graph.junctionOwner(metadata))
    throw refused(metadata.name, operation, "it holds many-to-many links: change them through their owner with save()");
  const roots = [...rootLinks.values()]
    .filter((relation) => carriesRoot(relation, key[relation.propertyName]))
    .map((relation) => carriedRoot(metadata, operation, relation, key[relation.propertyName]));
  return { versionColumn, primaryKey, version, member: graph.isMember(metadata), roots };
}

/** The relations from a member straight up to a versioned aggregate root: where a key may carry the root's version. */
function carriableRoots(graph: AggregateGraph, metadata: EntityMetadata): RelationMetadata[] {
  return graph
    .parentLinks(metadata)
    .filter((link) => link.kind === "member-holds-key" && graph.isRoot(link.parent) && occVersionColumn(link.parent) !== undefined)
    .map((link) => link.relation);
}

/** A relation that is part of the primary key names the parent by key alone; with the root's version it carries it. */
function carriesRoot(relation: RelationMetadata, value: unknown): boolean {
  if (value === undefined) return false;
  if (!relation.joinColumns.some((column) => column.isPrimary)) return true;
  return isPlainObject(value) && occVersionColumn(relation.inverseEntityMetadata)!.getEntityValue(value) !== undefined;
}

/** `order: { id, version }` in a member's key: the root's whole primary key and the version read of it. */
function carriedRoot(metadata: EntityMetadata, operation: string, relation: RelationMetadata, value: unknown): CarriedRoot {
  const root = relation.inverseEntityMetadata;
  const rootVersion = occVersionColumn(root)!;
  const what = `the key's ${relation.propertyName}`;
  if (!isPlainObject(value)) {
    throw invalidArgument(
      metadata.name,
      operation,
      `${what} must be an object with ${root.name}'s primary key and ${rootVersion.propertyPath}, got ${describe(value)}`,
    );
  }
  const allowed = new Set([...root.primaryColumns, rootVersion].map((column) => column.propertyPath.split(".")[0]));
  const extra = Object.keys(value).filter((name) => !allowed.has(name));
  if (extra.length > 0)
    throw invalidArgument(
      metadata.name,
      operation,
      `${what} holds ${extra.join(", ")}: it names ${root.name} by primary key and ${rootVersion.propertyPath} only`,
    );
  const primaryKey: ObjectLiteral = {};
  for (const column of root.primaryColumns) {
    const part: unknown = column.getEntityValue(value);
    if (part === undefined || part === null)
      throw invalidArgument(metadata.name, operation, `${what} has no ${column.propertyPath} (the whole primary key names ${root.name})`);
    assertKeyValue(metadata, operation, column, part, `${what}.${column.propertyPath}`);
    column.setEntityValue(primaryKey, part);
  }
  const version: unknown = rootVersion.getEntityValue(value);
  if (version === undefined || version === null) {
    throw new MissingVersionError(
      root.name,
      rootVersion.propertyPath,
      primaryKeyValues(root, primaryKey),
      `${what} given to ${operation} has no ${rootVersion.propertyPath}: pass the version the client read of ${root.name}, e.g. ${keyExample(primaryKeyValues(root, primaryKey), rootVersion.propertyPath)}, or leave ${relation.propertyName} out of the key`,
    );
  }
  return { ref: rowRef(root, primaryKey), version: assertStorableVersion(root, rootVersion, version) };
}

/** `{ id: 7, version: 3 }`: how a key with this primary key looks, for a message. */
function keyExample(primaryKey: Record<string, unknown>, version: string): string {
  const parts = Object.entries(primaryKey).map(
    ([name, value]) => `${name}: ${typeof value === "string" ? JSON.stringify(value) : String(value)}`,
  );
  return `{ ${[...parts, `${version}: 3`].join(", ")} }`;
}

/** The SET list (see assertSettableChanges), and no move of a member to another parent. */
function checkedChanges(metadata: EntityMetadata, changes: unknown): ObjectLiteral {
  const operation = "updateVersioned";
  assertSettableChanges(metadata, operation, changes);
  refuseMemberMove(metadata, operation, changes);
  return { ...changes };
}
