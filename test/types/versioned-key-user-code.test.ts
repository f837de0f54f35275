import type { Repository } from "typeorm";
import { deleteVersioned, updateVersioned, type VersionedKey } from "typeorm-occ";

/**
 * Compile-time checks of VersionedKey on what application code writes (issue 17 adversary): an
 * optional id, a string id, an entity class with methods and Date columns, a Partial, and generic
 * helpers. Every `@ts-expect-error` must stay an error (tsc fails on an unused one).
 */

interface Optional {
  id?: number;
  name: string;
  version: number;
}
interface Slug {
  id: string;
  title: string;
  version: number;
}
class Account {
  id!: number;
  balance!: number;
  version!: number;
  opened!: Date;
  deposit(amount: number): void {
    this.balance += amount;
  }
}

/**
 * A helper written once for every versioned entity. Inside a generic function the key type cannot
 * be checked (T may have more properties, any of them a member's root key), so a literal
 * `{ id, version }` does not compile there: the helper takes the key as `VersionedKey<T>` and its
 * callers build it, checked against their concrete entity.
 */
export function remove<T extends { id: number; version: number }>(repository: Repository<T>, key: VersionedKey<T>) {
  return deleteVersioned(repository, key);
}
export function touch<T extends { id: number; version: number }>(repository: Repository<T>, key: VersionedKey<T>) {
  return updateVersioned(repository, key, {});
}
export function bumpLiteral<T extends { id: number; version: number }>(repository: Repository<T>, id: T["id"], version: T["version"]) {
  // @ts-expect-error a literal key in a generic function: see above
  return updateVersioned(repository, { id, version }, {});
}

export function compileOnly(optional: Repository<Optional>, slugs: Repository<Slug>, accounts: Repository<Account>, loaded: Account): void {
  void updateVersioned(optional, { id: 1, version: 1 }, { name: "x" });
  void updateVersioned(slugs, { id: "hello", version: 1 }, { title: "x" });
  void updateVersioned(accounts, { id: 1, version: 1 }, { balance: 3 });
  void updateVersioned(accounts, { id: loaded.id, version: loaded.version }, { balance: 3 });
  const partial: Partial<Optional> = { id: 1, version: 1 };
  // @ts-expect-error a Partial may lack the id or the version
  void updateVersioned(optional, partial, { name: "x" });
  void touch(accounts, { id: 1, version: 2 });
  void remove(accounts, { id: 1, version: 2 });
  // @ts-expect-error the helper's callers get the same checks
  void remove(accounts, { id: 1 });
}

it("compiles the keys user code writes, and refuses a Partial", () => {
  expect(typeof compileOnly).toBe("function");
});
