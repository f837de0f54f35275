import { installedTypeOrmVersion } from "../../src/internals/typeorm-version";

/** The TypeORM the suite runs on (the lockfile's, or the one `npm run test:typeorm -- <version>` installed). */
export const typeormVersion: string = installedTypeOrmVersion() ?? "unknown";

/**
 * The release line. A test whose expectation differs between the lines branches on it and says
 * why in a comment (test/aggregate/root-version.test.ts: what remove() of a root sends).
 */
export const typeormLine: "0.3" | "1.x" = typeormVersion.startsWith("0.") ? "0.3" : "1.x";
