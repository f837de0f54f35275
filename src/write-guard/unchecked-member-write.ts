import type { RemoveOptions, SaveOptions } from "typeorm";

const UNCHECKED_MEMBER_WRITE = Symbol.for("typeorm-occ.unchecked-member-write");

/**
 * Options for a `save()`/`remove()` that accepts writing aggregate members whose root version it
 * cannot check: a member loaded on its own (without its root) and without a version of its own.
 * Without them, such a write is refused with `UnguardedWriteError`, because it could silently
 * overwrite a change made meanwhile through the root. With them, the write goes through and the
 * root's version is still moved (unchecked), so every holder of the root goes stale: last writer
 * wins for that member row, deliberately.
 *
 * Pass your other options through it: the mark is a symbol property, kept by object spread.
 *
 * @example
 * const line = await lines.findOneByOrFail({ id }); // loaded without its order
 * line.quantity = 3;
 * await lines.save(line, uncheckedMemberWrite({ reload: false }));
 */
export function uncheckedMemberWrite<T extends SaveOptions | RemoveOptions>(options?: T): T {
  return { ...(options ?? ({} as T)), [UNCHECKED_MEMBER_WRITE]: true };
}

/** True when a save()/remove() call's options came through {@link uncheckedMemberWrite}. */
export function allowsUncheckedMemberWrite(options: unknown): boolean {
  return typeof options === "object" && options !== null && (options as Record<symbol, unknown>)[UNCHECKED_MEMBER_WRITE] === true;
}
