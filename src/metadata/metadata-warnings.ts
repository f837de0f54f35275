import type { DataSource, EntityMetadata } from "typeorm";
import { aggregateGraphOf, cascades } from "../aggregate/aggregate-graph";
import { occVersionColumn } from "../version/versioned-metadata";

/**
 * The mistakes `DataSource.initialize()` warns about (they are legal TypeORM, so not errors):
 * - `typeorm-version-column`: an entity uses TypeORM's own `@VersionColumn()`, which typeorm-occ
 *   does not check: its stale saves go through, and the version can go backwards.
 * - `uncascaded-member`: an aggregate root (or member) has a one-to-many without `cascade`, so the
 *   children on it are not members: they are not saved through the root, and their writes do not
 *   move the root's version.
 */
export type OccWarningCode = "typeorm-version-column" | "uncascaded-member";

const disabled = new Set<OccWarningCode>();
/** Per entity (its class, or its schema's target or name): the codes already warned about in this process. */
const warned = new Map<unknown, Set<OccWarningCode>>();

/**
 * Turns one of typeorm-occ's start-up warnings off for the whole process. Call it before
 * `DataSource.initialize()`; warnings already given stay given.
 *
 * @example
 * import { disableOccWarning } from "typeorm-occ";
 *
 * // Legacy entities keep TypeORM's own @VersionColumn() on purpose, unchecked.
 * disableOccWarning("typeorm-version-column");
 * await dataSource.initialize();
 */
export function disableOccWarning(code: OccWarningCode): void {
  disabled.add(code);
}

/**
 * Warns about each entity of a DataSource whose metadata was just built, once per entity and code
 * in the process (a second DataSource with the same entity classes says nothing new). A warning
 * goes to the DataSource's logger (`logger.log("warn", …)`), and also to `process.emitWarning`
 * (type `TypeOrmOccWarning`, `code` the warning's code) when the DataSource's `logging` option does
 * not enable "warn", so that it is never silent.
 */
export function warnAboutMetadata(dataSource: DataSource): void {
  for (const metadata of dataSource.entityMetadatas) {
    const foreign = foreignVersionColumn(metadata);
    if (foreign) warn(dataSource, metadata, "typeorm-version-column", foreign);
    for (const text of uncascadedMembers(dataSource, metadata)) warn(dataSource, metadata, "uncascaded-member", text);
  }
}

/** The text of the warning when the entity's version column is TypeORM's own rather than ours. */
function foreignVersionColumn(metadata: EntityMetadata): string | undefined {
  const column = metadata.columns.find((candidate) => candidate.isVersion);
  if (!column || occVersionColumn(metadata)) return undefined;
  return (
    `${metadata.name}.${column.propertyPath} is TypeORM's own @VersionColumn(), which typeorm-occ does not check: ` +
    "a stale save of it goes through and can write the version backwards, and withOptimisticRetry() sees no conflict. " +
    'Import VersionColumn from "typeorm-occ" instead (for an EntitySchema: occSchema(schema, { versionColumn }))'
  );
}

/** One text per one-to-many of an aggregate's entity that leads to a non-member for want of `cascade`. */
function uncascadedMembers(dataSource: DataSource, metadata: EntityMetadata): string[] {
  const graph = aggregateGraphOf(dataSource);
  if (!graph.isRoot(metadata) && !graph.isMember(metadata)) return [];
  return metadata.relations
    .filter((relation) => relation.isOneToMany && !cascades(relation))
    .filter((relation) => !graph.isRoot(relation.inverseEntityMetadata) && !graph.isMember(relation.inverseEntityMetadata))
    .map((relation) => {
      const child = relation.inverseEntityMetadata.name;
      const where = `${metadata.name}.${relation.propertyPath}`;
      return (
        `${where} is a one-to-many to ${child} without cascade, so ${child} is not a member of the aggregate: ` +
        `rows added to ${where} are not saved through ${metadata.name}, and writes to ${child} do not move its version. ` +
        `Add cascade: true to the relation (or @AggregateMember() on ${child}'s relation to ${metadata.name} when ${child} rows are saved on their own)`
      );
    });
}

function warn(dataSource: DataSource, metadata: EntityMetadata, code: OccWarningCode, text: string): void {
  if (disabled.has(code)) return;
  const entity: unknown = metadata.target ?? metadata.name;
  const codes = warned.get(entity) ?? new Set<OccWarningCode>();
  if (codes.has(code)) return;
  codes.add(code);
  warned.set(entity, codes);
  const message = `typeorm-occ: ${text}. Silence this with disableOccWarning("${code}") before initialize().`;
  dataSource.logger.log("warn", message);
  if (!warnsThroughLogging(dataSource.options.logging)) process.emitWarning(message, { type: "TypeOrmOccWarning", code });
}

/** Whether TypeORM's own loggers print "warn" messages under this `logging` option. */
function warnsThroughLogging(logging: unknown): boolean {
  return logging === "all" || (Array.isArray(logging) && logging.includes("warn"));
}
