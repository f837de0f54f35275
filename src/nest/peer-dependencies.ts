import { MissingPeerDependencyError } from "../errors";

/** What typeorm-occ/nest loads besides typeorm: optional peers of the package, so npm does not install them. */
const NEST_PEERS = ["@nestjs/common", "@nestjs/core", "rxjs"] as const;

/**
 * The peers that cannot be found from here. Only "not found" counts as missing: a package that is
 * there but fails to load (or is ESM behind an `exports` map) is reported by its own import.
 */
export function missingPeers(resolve: (name: string) => string = require.resolve): string[] {
  return NEST_PEERS.filter((name) => {
    try {
      resolve(name);
      return false;
    } catch (error) {
      return (error as { code?: unknown }).code === "MODULE_NOT_FOUND";
    }
  });
}

/**
 * Throws {@link MissingPeerDependencyError} naming every missing peer and the command that installs
 * them, instead of Node's bare "Cannot find module '@nestjs/common'" from deep inside the package.
 */
export function assertNestPeersInstalled(
  resolve?: (name: string) => string,
  nodeMajor = Number(process.versions.node.split(".")[0]),
): void {
  const missing = missingPeers(resolve);
  if (missing.length > 0) throw new MissingPeerDependencyError("typeorm-occ/nest", missing, { install: installSpecs(missing, nodeMajor) });
}

/**
 * What to put on the `npm install` line: NestJS 12 needs Node 22, so on an older Node the bare
 * name would install a major that does not support it (npm warns EBADENGINE): name 11 there.
 */
function installSpecs(missing: readonly string[], nodeMajor: number): string[] {
  return missing.map((name) => (nodeMajor < 22 && name.startsWith("@nestjs/") ? `${name}@11` : name));
}

assertNestPeersInstalled();
