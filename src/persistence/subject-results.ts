import type { ObjectLiteral } from "typeorm";
import type { ColumnMetadata } from "typeorm/metadata/ColumnMetadata";
import type { PersistenceSubject, PersistenceUnit } from "../internals/typeorm-internals";
import { dataSourceOf } from "../internals/typeorm-internals";
import { setColumnValue } from "./value-maps";

/**
 * What TypeORM does with the values a write read back (generated columns, update dates), plus the
 * version typeorm-occ knows it wrote: TypeORM copies `generatedMap` into the entity after the unit.
 */
export function mergeGenerated(
  unit: PersistenceUnit,
  subject: PersistenceSubject,
  generated: ObjectLiteral | undefined,
  versionColumn: ColumnMetadata,
  version: number,
): void {
  const driver = dataSourceOf(unit.queryRunner).driver;
  subject.generatedMap ??= {};
  if (generated) {
    for (const column of subject.metadata.columns) {
      const value = column.getEntityValue(generated);
      if (value !== undefined && value !== null) column.setEntityValue(subject.generatedMap, driver.prepareHydratedValue(value, column));
    }
  }
  setColumnValue(subject.generatedMap, versionColumn, version);
}
