import type { EntityManager, EntityMetadata, ObjectLiteral } from "typeorm";

/**
 * For the failure path of a conditional write only: does a row matching the criteria's identifying
 * part exist? The primary key when the criteria hold all of it as plain values, otherwise their
 * plain-value fields (operators such as `MoreThanOrEqual` are the condition, not the identity).
 * `null` when nothing identifies a row.
 */
export async function rowExists(manager: EntityManager, metadata: EntityMetadata, criteria: ObjectLiteral): Promise<boolean | null> {
  const identity = identifyingCriteria(metadata, criteria);
  if (!identity) return null;
  return manager.createQueryBuilder(metadata.target, "occ_row").withDeleted().where(identity).getExists();
}

function identifyingCriteria(metadata: EntityMetadata, criteria: ObjectLiteral): ObjectLiteral | undefined {
  if (metadata.primaryColumns.every((column) => isPlainValue(column.getEntityValue(criteria)))) {
    const primaryKey: ObjectLiteral = {};
    for (const column of metadata.primaryColumns) column.setEntityValue(primaryKey, column.getEntityValue(criteria));
    return primaryKey;
  }
  const plain = Object.entries(criteria).filter(([, value]) => isPlainValue(value));
  return plain.length > 0 ? Object.fromEntries(plain) : undefined;
}

function isPlainValue(value: unknown): boolean {
  return ["string", "number", "bigint", "boolean"].includes(typeof value) || value instanceof Date;
}
