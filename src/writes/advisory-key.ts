import { createHash } from "node:crypto";
import { describe, invalidArgument } from "./input-checks";

/** What an advisory lock is named by: a string, or a whole number. */
export type AdvisoryLockKey = string | number;

const OPERATION = "withAdvisoryLock";

/**
 * The signed 64-bit number a key maps to (PostgreSQL's advisory lock space). A number is used as
 * is (a safe integer); a string is hashed: the first 8 bytes of the SHA-256 of its UTF-8 bytes,
 * read as a big-endian signed integer — in SQL,
 * `('x' || left(encode(sha256(convert_to(key, 'UTF8')), 'hex'), 16))::bit(64)::bigint`.
 */
export function advisoryLockId(key: unknown): bigint {
  if (typeof key === "number") {
    if (!Number.isSafeInteger(key))
      throw invalidArgument(lockNameOf(key), OPERATION, `a number key must be a safe integer, got ${describe(key)}`);
    return BigInt(key);
  }
  if (typeof key !== "string" || key.length === 0) {
    throw invalidArgument("advisory lock", OPERATION, `the key must be a non-empty string or a safe integer, got ${describe(key)}`);
  }
  return createHash("sha256").update(key, "utf8").digest().readBigInt64BE(0);
}

/**
 * MariaDB's lock names are server-wide; PostgreSQL's advisory locks are per database. The name
 * joins the database and the key's number, hashed to fit MariaDB's 64-character limit:
 * `occ:` + the first 40 hex digits of SHA-256 of `<database>/<key number>`.
 */
export function mysqlLockName(database: string, id: bigint): string {
  return `occ:${createHash("sha256").update(`${database}/${id}`, "utf8").digest("hex").slice(0, 40)}`;
}

/** How errors name the lock: `advisory lock "cart:ada"`. */
export function lockNameOf(key: AdvisoryLockKey): string {
  return `advisory lock ${typeof key === "string" ? JSON.stringify(key.length > 80 ? `${key.slice(0, 80)}…` : key) : String(key)}`;
}
