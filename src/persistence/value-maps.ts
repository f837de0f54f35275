import type { ObjectLiteral } from "typeorm";
import type { ColumnMetadata } from "typeorm/metadata/ColumnMetadata";

/**
 * Writes one column's value into a value map (an UPDATE's SET map, a generated map) as plain nested
 * objects. `ColumnMetadata.setEntityValue` would create a fresh instance of an embedded class on the
 * way, whose other, unset columns an UPDATE would then write as NULL.
 */
export function setColumnValue(target: ObjectLiteral, column: ColumnMetadata, value: unknown): void {
  const path = column.propertyPath.split(".");
  let node = target;
  for (const part of path.slice(0, -1)) {
    if (node[part] === undefined || node[part] === null || typeof node[part] !== "object") node[part] = {};
    node = node[part] as ObjectLiteral;
  }
  node[path[path.length - 1]] = value;
}
