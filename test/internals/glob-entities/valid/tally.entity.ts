import { EntitySchema } from "typeorm";
import { occSchema } from "typeorm-occ";

export interface Tally {
  id: number;
  count: number;
  version: number;
}

export const TallySchema = occSchema(
  new EntitySchema<Tally>({
    name: "glob_tally",
    columns: {
      id: { type: "integer", primary: true, generated: true },
      count: { type: "integer" },
      version: { type: "integer" },
    },
  }),
  { versionColumn: "version" },
);
