import type { DataSource, EntityMetadata } from "typeorm";
import { aggregateGraphOf, cascades } from "../aggregate/aggregate-graph";
import { InvalidArgumentError } from "../errors";
import { loggerPrintsWarnings } from "../internals/logger-levels";
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

const WARNING_CODES: readonly OccWarningCode[] = ["typeorm-version-column", "uncascaded-member"];

const disabled = new Set<OccWarningCode>();
/**
 * Per entity (its class, or its schema's target or name): what was already warned about in this
 * process, as `code` plus the property it is about (one entity may have several uncascaded relations).
 */
const warned = new Map<unknown, Set<string>>();

/**
 * Turns one of typeorm-occ's start-up warnings off for the whole process. Call it before
 * `DataSource.initialize()`; warnings already given stay given. An unknown code throws
 * `InvalidArgumentError`.
 *
 * @example
 * import { disableOccWarning } from "typeorm-occ";
 *
 * // Legacy entities keep TypeORM's own @VersionColumn() on purpose, unchecked.
 * disableOccWarning("typeorm-version-column");
 * await dataSource.initialize();
 */
export function disableOccWarning(code: OccWarningCode): void {
  // From JavaScript or a config file, a misspelt code would otherwise silence nothing, silently.
  if (!WARNING_CODES.includes(code)) {
    throw new InvalidArgumentError(
      undefined,
      "disableOccWarning",
      `unknown warning code ${JSON.stringify(code)}: the codes are ${WARNING_CODES.map((known) => `"${known}"`).join(", ")}`,
    );
  }
  disabled.add(code);
}

/**
 * Warns about each entity of a DataSource whose metadata was just built, once per entity, code and
 * property in the process (a second DataSource with the same entity classes says nothing new). A
 * warning goes to the DataSource's logger (`logger.log("warn", …)`), and also to
 * `process.emitWarning` (type `TypeOrmOccWarning`, `code` the warning's code) when that logger does
 * not print "warn" messages (TypeORM's loggers under a `logging` option without "warn", an
 * `AbstractLogger` built without it) or throws, so that it is never silent and never fails
 * `initialize()`. A logger object that is not an `AbstractLogger` gets the message as is.
 */
export function warnAboutMetadata(dataSource: DataSource): void {
  for (const metadata of dataSource.entityMetadatas) {
    const foreign = foreignVersionColumn(metadata);
    if (foreign) warn(dataSource, metadata, "typeorm-version-column", foreign.property, foreign.text);
    for (const { property, text } of uncascadedMembers(dataSource, metadata))
      warn(dataSource, metadata, "uncascaded-member", property, text);
  }
}

/** The text of the warning when the entity's version column is TypeORM's own rather than ours. */
function foreignVersionColumn(metadata: EntityMetadata): Finding | undefined {
  const column = metadata.columns.find((candidate) => candidate.isVersion);
  if (!column || occVersionColumn(metadata)) return undefined;
  const text =
    `${metadata.name}.${column.propertyPath} is TypeORM's own @VersionColumn(), which typeorm-occ does not check: ` +
    "a stale save of it goes through and can write the version backwards, and withOptimisticRetry() sees no conflict. " +
    'Import VersionColumn from "typeorm-occ" instead (for an EntitySchema: occSchema(schema, { versionColumn }))';
  return { property: column.propertyPath, text };
}

/** One thing to warn about: the property it concerns, and the text. */
interface Finding {
  property: string;
  text: string;
}

/** One text per one-to-many of an aggregate's entity that leads to a non-member for want of `cascade`. */
function uncascadedMembers(dataSource: DataSource, metadata: EntityMetadata): Finding[] {
  const graph = aggregateGraphOf(dataSource);
  if (!graph.isRoot(metadata) && !graph.isMember(metadata)) return [];
  return metadata.relations
    .filter((relation) => relation.isOneToMany && !cascades(relation))
    .filter((relation) => !graph.isRoot(relation.inverseEntityMetadata) && !graph.isMember(relation.inverseEntityMetadata))
    .map((relation) => {
      const child = relation.inverseEntityMetadata.name;
      const where = `${metadata.name}.${relation.propertyPath}`;
      const text =
        `${where} is a one-to-many to ${child} without cascade, so ${child} is not a member of the aggregate: ` +
        `rows added to ${where} are not saved through ${metadata.name}, and writes to ${child} do not move its version. ` +
        `Add cascade: true to the relation (or @AggregateMember() on ${child}'s relation to ${metadata.name} when ${child} rows are saved on their own)`;
      return { property: relation.propertyPath, text };
    });
}

function warn(dataSource: DataSource, metadata: EntityMetadata, code: OccWarningCode, property: string, text: string): void {
  if (disabled.has(code)) return;
  const entity: unknown = metadata.target ?? metadata.name;
  const given = warned.get(entity) ?? new Set<string>();
  const key = `${code}:${property}`;
  if (given.has(key)) return;
  given.add(key);
  warned.set(entity, given);
  const message = `typeorm-occ: ${text}. Silence this with disableOccWarning("${code}") before initialize().`;
  let printed: boolean;
  try {
    dataSource.logger.log("warn", message);
    printed = loggerPrintsWarnings(dataSource);
  } catch {
    // A warning must not fail initialize(), nor be lost with the logger that threw.
    printed = false;
  }
  if (!printed) process.emitWarning(message, { type: "TypeOrmOccWarning", code });
}
