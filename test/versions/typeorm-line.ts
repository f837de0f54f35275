import { installedTypeOrmVersion } from "../../src/internals/typeorm-version";

/** The TypeORM the suite runs on (the lockfile's, or the one `npm run test:typeorm -- <version>` installed). */
export const typeormVersion: string = installedTypeOrmVersion() ?? "unknown";

/** The release line: behaviour that differs between TypeORM versions differs between these two. */
export const typeormLine: "0.3" | "1.x" = typeormVersion.startsWith("0.") ? "0.3" : "1.x";

/**
 * `it` on one TypeORM line, `it.skip` on the other. The title carries the line and the reason, so a
 * skipped test says in the report why it does not apply.
 */
export function itOnTypeOrm(line: "0.3" | "1.x", reason: string) {
  return (title: string, fn: jest.ProvidesCallback) => (typeormLine === line ? it : it.skip)(`${title} (TypeORM ${line} only: ${reason})`, fn);
}
