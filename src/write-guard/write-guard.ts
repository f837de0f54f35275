import { UnguardedWriteError } from "../errors";
import { aggregateGraphOf } from "../aggregate/aggregate-graph";
import type { BuilderWrite } from "../internals/typeorm-internals";
import { occVersionColumn } from "../version/versioned-metadata";

const entryPoint: Record<BuilderWrite["kind"], string> = {
  insert: "insert()",
  update: "update()",
  delete: "delete()",
  "soft-delete": "softDelete()",
  restore: "restore()",
  clear: "clear()",
};

/**
 * The version column belongs to typeorm-occ, and an aggregate's rows change only together with
 * their root's version. Writes through TypeORM's other entry points — `update()`, `insert()`,
 * `upsert()`, `increment()`, `delete()`, query builders — are let through where they keep that
 * true (TypeORM adds `version = version + 1` to an UPDATE and writes 1 on INSERT) and refused,
 * before anything is sent, where they cannot:
 * - any write to a member row of an aggregate (its root's version would not move), `clear()` of a
 *   member table included; a raw table name that reaches an entity's table counts as that entity;
 * - a version set by hand (`update(id, { version: 1 })` moves it backwards; `insert({ version: 41 })`);
 * - `upsert()` / `orUpdate()` (its update path leaves the version where it was), INSERT … SELECT.
 */
export function guardBuilderWrite(write: BuilderWrite): void {
  const { metadata } = write;
  if (!metadata) return;
  const operation = write.upsert ? "upsert()" : entryPoint[write.kind];
  const graph = aggregateGraphOf(write.dataSource);
  if (graph.isMember(metadata)) {
    const owner = graph.junctionOwner(metadata);
    const instead =
      write.kind === "clear"
        ? "Remove members through their roots (take them out of the root's collection and save(), or remove() the roots), or use deleteVersioned(), which moves the root"
        : "Save it through its root (or with save() on its own, loaded with its root), or use updateIf() / updateVersioned() / insertOnce(), which move the root";
    throw new UnguardedWriteError(
      owner ? `${owner.name} (many-to-many links)` : metadata.name,
      operation,
      `it is a member of an aggregate, and ${operation} would ${write.kind === "clear" ? "delete every row of it" : "change it"} without moving its root's version. ${instead}`,
    );
  }
  const column = occVersionColumn(metadata);
  if (!column) return;
  if (write.rawTable && write.kind !== "delete" && write.kind !== "clear") {
    throw new UnguardedWriteError(
      metadata.name,
      operation,
      `it names ${metadata.name}'s table by a raw name TypeORM does not match to the entity, so it would write without moving the version. Name the entity instead (its class, or "${metadata.name}")`,
    );
  }
  if (write.upsert) {
    throw new UnguardedWriteError(
      metadata.name,
      operation,
      "its update path would leave the version where it was, so a holder of the old version could overwrite it. Use insertOnce() and then updateVersioned(), or save()",
    );
  }
  if (write.fromSelect) {
    throw new UnguardedWriteError(
      metadata.name,
      operation,
      "INSERT … SELECT would copy versions from the query; insert rows with save() or insert() without a version",
    );
  }
  const setsVersion = write.values.some((values) => {
    const value = column.getEntityValue(values);
    return write.kind === "insert" ? value !== undefined && value !== null : value !== undefined;
  });
  if (setsVersion) {
    throw new UnguardedWriteError(
      metadata.name,
      operation,
      `it sets ${column.propertyPath} by hand; the version belongs to typeorm-occ (1 on insert, one up on every write). Leave ${column.propertyPath} out` +
        (write.kind === "update" ? ", or use updateVersioned() to write against a version you read" : ""),
    );
  }
}
