import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { TypeOrmCompatibilityError } from "../errors";

/**
 * The TypeORM versions the test suite passed on: package.json's `peerDependencies.typeorm`
 * (`^0.3.20 || >=1.0.0 <1.2.0`) as data; test/internals checks that the two agree.
 */
export const VERIFIED_TYPEORM: readonly { from: string; below: string }[] = [
  { from: "0.3.20", below: "0.4.0" },
  { from: "1.0.0", below: "1.2.0" },
];

/** Set to the exact TypeORM version to run typeorm-occ on a TypeORM it was not verified on. */
export const UNVERIFIED_TYPEORM_OPT_IN = "TYPEORM_OCC_UNVERIFIED_TYPEORM";

/**
 * Refuses a TypeORM outside the verified range. A newer TypeORM can keep every shape the
 * internals module checks and still change what a save does (a new write path would go
 * unchecked), so passing the shape check is not enough; the opt-in names one exact version, so
 * the next upgrade is refused again until it is verified or opted into.
 */
export function assertVerifiedTypeOrm(version = installedTypeOrmVersion()): void {
  // A bundled TypeORM has no package.json to read: only the shape check applies then.
  if (version === undefined || isVerifiedTypeOrm(version)) return;
  const range = VERIFIED_TYPEORM.map(({ from, below }) => `>=${from} <${below}`).join(" || ");
  if (process.env[UNVERIFIED_TYPEORM_OPT_IN] === version) {
    process.emitWarning(
      `typeorm-occ runs on TypeORM ${version}, outside the versions it was verified on (${range}), because ${UNVERIFIED_TYPEORM_OPT_IN}=${version}`,
      {
        code: "TYPEORM_OCC_UNVERIFIED_TYPEORM",
      },
    );
    return;
  }
  throw new TypeOrmCompatibilityError(
    `typeorm-occ was not verified on TypeORM ${version} (verified: ${range}), so versioned saves might go unchecked and it refuses to load. ` +
      `Install a verified TypeORM, or accept the risk for this exact version with ${UNVERIFIED_TYPEORM_OPT_IN}=${version}`,
  );
}

/** True for a release inside one of the verified ranges; a pre-release never is. */
export function isVerifiedTypeOrm(version: string): boolean {
  const parsed = parse(version);
  return (
    parsed !== undefined &&
    VERIFIED_TYPEORM.some(({ from, below }) => compare(parsed, parse(from)!) >= 0 && compare(parsed, parse(below)!) < 0)
  );
}

/** The version in the installed TypeORM's package.json (not exported by its `exports` map, so read from disk). */
export function installedTypeOrmVersion(): string | undefined {
  try {
    const file = join(dirname(require.resolve("typeorm")), "package.json");
    const version: unknown = JSON.parse(readFileSync(file, "utf8")).version;
    return typeof version === "string" ? version : undefined;
  } catch {
    return undefined;
  }
}

function parse(version: string): number[] | undefined {
  const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  return match ? match.slice(1).map(Number) : undefined;
}

function compare(a: number[], b: number[]): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}
