import { OccError } from "./occ-error";

/** An entity class is declared in a way typeorm-occ cannot guard (raised when the DataSource builds its metadata). */
export class EntityDefinitionError extends OccError {
  override readonly name = "EntityDefinitionError";
  readonly code = "entity-definition";
  constructor(
    readonly entityName: string,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${entityName}: ${problem}`, options);
  }
}

/** The installed TypeORM no longer has the internal shape typeorm-occ was built against. */
export class TypeOrmCompatibilityError extends OccError {
  override readonly name = "TypeOrmCompatibilityError";
  readonly code = "typeorm-compatibility";
}

/**
 * A part of typeorm-occ needs a package the application has not installed, e.g. `typeorm-occ/nest`
 * without `@nestjs/common`. The message names the command that installs what is missing.
 */
export class MissingPeerDependencyError extends OccError {
  override readonly name = "MissingPeerDependencyError";
  readonly code = "missing-peer-dependency";

  constructor(
    /** The entry point that was loaded, e.g. `typeorm-occ/nest`. */
    readonly entryPoint: string,
    /** The packages it needs that could not be loaded. */
    readonly packages: readonly string[],
    /** `install`: what the message's `npm install` line names, when not the bare package names (e.g. `@nestjs/common@11`). */
    options?: { cause?: unknown; install?: readonly string[] },
  ) {
    super(
      `${entryPoint} needs ${packages.join(", ")}, which ${packages.length === 1 ? "is" : "are"} not installed: npm install ${(options?.install ?? packages).join(" ")}`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
  }
}
