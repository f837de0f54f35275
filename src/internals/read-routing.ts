/**
 * Sends replica reads to the primary while `toPrimary()` says so. TypeORM routes a read through
 * public API: a query builder without a query runner of its own asks
 * `DataSource.createQueryRunner(mode)` for one with the mode "slave" (or
 * `replication.defaultMode`), and the driver picks a replica's pool for that mode. Wrapping that
 * one public method — nothing else — turns "slave" into "master" inside typeorm-occ's scopes;
 * every other call reaches TypeORM's own method unchanged.
 */
import { DataSource as DataSourceClass, type DataSource, type QueryRunner } from "typeorm";
import { TypeOrmCompatibilityError } from "../errors";

const ROUTED = Symbol.for("typeorm-occ.read-routing");

// Derived from public API: the root of TypeORM 0.3 does not export ReplicationMode.
type ReplicationMode = NonNullable<Parameters<DataSource["createQueryRunner"]>[0]>;
type CreateQueryRunner = (this: DataSource, mode?: ReplicationMode) => QueryRunner;
type Prototype = Record<string | symbol, unknown>;

/** Installs the routing once per TypeORM copy; later calls (another copy of typeorm-occ) do nothing. */
export function installReadRouting(toPrimary: () => boolean): void {
  const prototype = DataSourceClass.prototype as unknown as Prototype;
  if (prototype[ROUTED]) return;
  const original = prototype.createQueryRunner;
  if (typeof original !== "function") {
    throw new TypeOrmCompatibilityError(
      "typeorm-occ does not support this TypeORM version: DataSource lacks createQueryRunner(mode), through which reads on replicated DataSources are routed. Install a TypeORM version within typeorm-occ's peerDependencies range",
    );
  }
  const createQueryRunner = original as CreateQueryRunner;
  const routed: CreateQueryRunner = function (this: DataSource, mode?: ReplicationMode) {
    return createQueryRunner.call(this, mode === "slave" && toPrimary() ? "master" : mode);
  };
  Object.defineProperty(routed, "length", { value: createQueryRunner.length });
  prototype.createQueryRunner = routed;
  prototype[ROUTED] = true;
}
