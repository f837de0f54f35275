import type { EntitySchema } from "typeorm";
import { EntityDefinitionError } from "../errors";
import { ensureInstalled } from "../install";
import { declareAggregateMember, declareAggregateRoot, declareSchemaEntity, declareVersionColumn, type EntityKey } from "./registry";

/** What `occSchema()` declares on an EntitySchema: the decorators' equivalents. */
export interface OccSchemaOptions<T = unknown> {
  /**
   * The column that holds the row's version, like `@VersionColumn()` from typeorm-occ: every UPDATE
   * and DELETE that save()/remove()/softRemove()/recover() issue checks it. occSchema() makes it
   * TypeORM's version column (`version: true`); its `type` must be an integer type.
   */
  versionColumn?: keyof T & string;
  /** Like `@AggregateRoot()`: the version moves when anything in the aggregate changes. Needs `versionColumn`. Defaults to false. */
  aggregateRoot?: boolean;
  /**
   * Like `@AggregateMember()` on each named relation: a many-to-one (or owning one-to-one)
   * relation that leads to the entity's parent in the aggregate. Defaults to none (members
   * reached through a root's cascading one-to-many relations need no declaration).
   */
  aggregateMember?: (keyof T & string) | readonly (keyof T & string)[];
}

/**
 * Gives an EntitySchema (entities defined without decorators) what the decorators give a class,
 * and returns the same schema. Call it where the schema is defined, before `initialize()`, which
 * validates it like a decorated entity; names that are not the schema's columns or relations
 * throw `EntityDefinitionError` at once.
 *
 * @example
 * import { EntitySchema } from "typeorm";
 * import { occSchema } from "typeorm-occ";
 *
 * interface Wallet { id: number; balance: number; version: number }
 * export const WalletSchema = occSchema(
 *   new EntitySchema<Wallet>({
 *     name: "wallet",
 *     columns: {
 *       id: { type: "integer", primary: true, generated: true },
 *       balance: { type: "integer" },
 *       version: { type: "integer" },
 *     },
 *   }),
 *   { versionColumn: "version" },
 * );
 */
export function occSchema<T>(schema: EntitySchema<T>, options: OccSchemaOptions<T>): EntitySchema<T> {
  ensureInstalled();
  const { name, columns, relations } = schema.options;
  // TypeORM's EntityMetadata.target: the schema's class when it names one, else its name.
  const key: EntityKey = schema.options.target ?? name;
  declareSchemaEntity(key);
  if (options.versionColumn !== undefined) {
    const propertyName = options.versionColumn;
    const column = columns[propertyName];
    if (!column) throw new EntityDefinitionError(name, `occSchema versionColumn "${propertyName}" is not one of the schema's columns`);
    // Only a version column gets 1 on INSERT and +1 on UPDATE from TypeORM.
    column.version = true;
    declareVersionColumn(
      key,
      typeof column.type === "string" ? { propertyName, type: column.type } : { propertyName, designType: column.type },
    );
  }
  if (options.aggregateRoot) declareAggregateRoot(key);
  const members: readonly string[] = options.aggregateMember === undefined ? [] : [options.aggregateMember].flat();
  for (const parentProperty of members) {
    if (!relations?.[parentProperty as keyof T]) {
      throw new EntityDefinitionError(name, `occSchema aggregateMember "${parentProperty}" is not one of the schema's relations`);
    }
    declareAggregateMember(key, { parentProperty });
  }
  return schema;
}
