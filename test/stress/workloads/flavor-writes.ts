import { OptimisticLockVersionMismatchError, type EntityManager, type EntityTarget, type ObjectLiteral } from "typeorm";
import { increment, insertOnce, isStaleDataError, updateIf, updateVersioned } from "typeorm-occ";
import { occFlavor, type Flavor } from "../entities";

/**
 * The writes that do not go through save(), per flavor: typeorm-occ's helpers, or what a TypeORM
 * user writes without them (the control). Both take the transaction's manager.
 */
export interface FlavorWrites {
  /** `UPDATE … WHERE id AND version = :version`; resolves to the version the write reports. */
  updateVersioned(
    manager: EntityManager,
    target: EntityTarget<ObjectLiteral>,
    key: { id: number; version: number },
    changes: ObjectLiteral,
  ): Promise<number>;
  /** `UPDATE … SET <column> = <column> + by WHERE id`, nothing read before it. */
  increment(manager: EntityManager, target: EntityTarget<ObjectLiteral>, id: number, column: string, by: number): Promise<void>;
  /** Inserts the row unless one with the same `ref` exists. */
  insertOnce(manager: EntityManager, target: EntityTarget<ObjectLiteral>, values: ObjectLiteral & { ref: string }): Promise<void>;
  /** The refusal a write of an outdated copy or key ends with (the transaction may go on). */
  isStale(error: unknown): boolean;
}

const occWrites: FlavorWrites = {
  async updateVersioned(manager, target, key, changes) {
    return (await updateVersioned(manager.getRepository(target), key, changes)).version;
  },
  async increment(manager, target, id, column, by) {
    await updateIf(manager.getRepository(target), { id }, { [column]: increment(by) });
  },
  async insertOnce(manager, target, values) {
    await insertOnce(manager.getRepository(target), values, { conflictPaths: ["ref"] });
  },
  isStale: isStaleDataError,
};

const plainWrites: FlavorWrites = {
  async updateVersioned(manager, target, key, changes) {
    // TypeORM's update builder adds `version = version + 1` by itself.
    const { affected } = await manager.update(target, key, changes);
    if (affected !== 1) throw new OptimisticLockVersionMismatchError(manager.getRepository(target).metadata.name, key.version, NaN);
    return key.version + 1;
  },
  async increment(manager, target, id, column, by) {
    await manager.increment(target, { id }, column, by);
  },
  async insertOnce(manager, target, values) {
    await manager.createQueryBuilder().insert().into(target).values(values).orIgnore().execute();
  },
  isStale: (error) => error instanceof OptimisticLockVersionMismatchError,
};

export const writesOf = (flavor: Flavor): FlavorWrites => (flavor === occFlavor ? occWrites : plainWrites);
