import type { DataSource, EntityMetadata } from "typeorm";
import { EntityDefinitionError } from "../errors";
import { INTEGER_COLUMN_TYPES, isDeclaredAggregateRoot, isSchemaDeclared, versionDeclarationsOf } from "./registry";
import { occVersionColumn } from "../version/versioned-metadata";

const validated = new WeakSet<DataSource>();

/**
 * Checks, once per DataSource, that every entity declared with typeorm-occ decorators (or
 * occSchema()) can be guarded. Runs right after TypeORM builds its metadata (DataSource.initialize), and again lazily
 * before the first save in case entity files were loaded while that build was already running.
 */
export function validateDataSourceMetadata(dataSource: DataSource): void {
  if (validated.has(dataSource)) return;
  for (const metadata of dataSource.entityMetadatas) validateEntity(metadata);
  validated.add(dataSource);
}

function validateEntity(metadata: EntityMetadata): void {
  // Declared on the class (or an ancestor) or on an embedded class it holds.
  const declared = [metadata.target, ...metadata.allEmbeddeds.map((embedded) => embedded.type)].flatMap((owner) =>
    versionDeclarationsOf(owner),
  );
  const isRoot = isDeclaredAggregateRoot(metadata.target);
  const schema = isSchemaDeclared(metadata.target);
  if (declared.length === 0) {
    if (isRoot) {
      throw new EntityDefinitionError(
        metadata.name,
        schema
          ? "occSchema(schema, { aggregateRoot: true }) needs a version column: add versionColumn"
          : "@AggregateRoot() needs a version column: add @VersionColumn() from typeorm-occ to the class",
      );
    }
    return;
  }
  const versionColumns = metadata.columns.filter((column) => column.isVersion);
  if (declared.length > 1 || versionColumns.length > 1) {
    const names = versionColumns.map((column) => column.propertyName).join(", ");
    const keep = schema ? "keep exactly one version column, the one occSchema() names" : "keep exactly one @VersionColumn()";
    throw new EntityDefinitionError(metadata.name, `has more than one version column (${names}); ${keep}`);
  }
  const column = occVersionColumn(metadata);
  if (!column) {
    const { propertyName } = declared[0];
    // The one way a declared property is a plain column: an EntitySchema, which ignores decorators.
    const problem = metadata.columns.some((candidate) => candidate.propertyName === propertyName)
      ? `"${propertyName}" is a column but not a version column: an EntitySchema ignores decorators, declare it with occSchema(schema, { versionColumn: "${propertyName}" })`
      : `@VersionColumn() property "${propertyName}" is not a column of the entity`;
    throw new EntityDefinitionError(metadata.name, problem);
  }
  const { type, designType } = declared[0];
  if (type !== undefined && !INTEGER_COLUMN_TYPES.has(type.toLowerCase())) {
    throw new EntityDefinitionError(metadata.name, `version column "${column.propertyName}" must be an integer column, got type "${type}"`);
  }
  if (designType !== undefined && designType !== Number && designType !== Object) {
    throw new EntityDefinitionError(
      metadata.name,
      `version column "${column.propertyName}" must be declared as a number, not ${designType.name}`,
    );
  }
  if (metadata.primaryColumns.length === 0) {
    throw new EntityDefinitionError(metadata.name, "a versioned entity needs a primary key");
  }
  if (metadata.treeType) {
    throw new EntityDefinitionError(metadata.name, `@VersionColumn() is not supported on tree entities (${metadata.treeType})`);
  }
}

/**
 * TypeORM validates primary keys itself while building metadata; when the entity it rejects is
 * one of ours, say so with our error (TypeORM's stays attached as `cause`).
 */
export function explainRejectedMetadata(dataSource: DataSource, error: unknown): unknown {
  if (!(error instanceof Error) || error.name !== "MissingPrimaryColumnError") return error;
  // TypeORM rejects the metadata after building it, so every entity (also glob-loaded ones) is listed.
  for (const metadata of dataSource.entityMetadatas) {
    if (versionDeclarationsOf(metadata.target).length === 0 || !error.message.includes(`"${metadata.name}"`)) continue;
    const fix = isSchemaDeclared(metadata.target) ? "give a column primary: true" : "add @PrimaryColumn or @PrimaryGeneratedColumn";
    return new EntityDefinitionError(metadata.name, `a versioned entity needs a primary key (${fix})`, { cause: error });
  }
  return error;
}
