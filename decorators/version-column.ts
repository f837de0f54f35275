import { VersionColumn as TypeOrmVersionColumn, type ColumnOptions } from "typeorm";
import { declareVersionColumn } from "../src/metadata/registry";
import { ensureInstalled } from "../src/install";

/** Column options a version column accepts; its type must stay an integer type. */
export type VersionColumnOptions = Omit<ColumnOptions, "type"> & {
  /** Defaults to `"integer"`. */
  type?: "int" | "integer" | "int4" | "int2" | "smallint" | "mediumint" | "tinyint";
};

/**
 * Marks the property that holds the row's version. A drop-in replacement for TypeORM's
 * `@VersionColumn()`: INSERT writes 1, and every UPDATE/DELETE issued by `save()`, `remove()`,
 * `softRemove()` and `recover()` checks `version = <the object's version>` in its WHERE clause and
 * raises `StaleDataError` when no row matched.
 *
 * @example
 * import { VersionColumn } from "typeorm-occ"; // instead of "typeorm"
 *
 * @Entity()
 * class Wallet {
 *   @PrimaryGeneratedColumn() id!: number;
 *   @Column("integer") balance!: number;
 *   @VersionColumn() version!: number;
 * }
 */
export function VersionColumn(options: VersionColumnOptions = {}): PropertyDecorator {
  ensureInstalled();
  const register = TypeOrmVersionColumn({ type: "integer", ...options } as ColumnOptions);
  return (target: object, propertyName: string | symbol) => {
    register(target, propertyName);
    // TypeORM stores every version column as its integer type whatever `type` says, so the declared
    // type and the TypeScript property type are recorded for the validator to reject mistakes.
    const designType: unknown = Reflect.getMetadata?.("design:type", target, propertyName);
    declareVersionColumn(target.constructor, {
      propertyName: String(propertyName),
      type: typeof options.type === "string" ? options.type : undefined,
      designType: typeof designType === "function" ? designType : undefined,
    });
  };
}
