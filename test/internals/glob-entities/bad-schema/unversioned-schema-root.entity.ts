import { EntitySchema } from "typeorm";
import { occSchema } from "typeorm-occ";

/** An EntitySchema aggregate root without a version column: initialize() must refuse it. */
export const UnversionedSchemaRoot = occSchema(
  new EntitySchema<{ id: number }>({
    name: "glob_unversioned_schema_root",
    columns: { id: { type: "integer", primary: true, generated: true } },
  }),
  { aggregateRoot: true },
);
