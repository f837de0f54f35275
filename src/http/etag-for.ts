import { InvalidVersionError } from "../errors";
import { versionDeclarationsOf } from "../metadata/registry";
import { isVersionNumber } from "../version/version-value";

/**
 * The strong ETag for a version: the version number in double quotes, e.g. `"3"`. Pass an entity
 * (its typeorm-occ `@VersionColumn()` property is read, whatever it is called), any object with a
 * numeric `version`, or the version itself. {@link parseIfMatch} reads the same format back.
 *
 * @example
 * res.setHeader("ETag", etagFor(order)); // ETag: "3"
 * etagFor(7); // '"7"'
 */
export function etagFor(entityOrVersion: object | number): string {
  if (typeof entityOrVersion === "number") return quote(entityOrVersion, "ETag", "version");
  const entityName = entityOrVersion.constructor?.name || "Object";
  const property = versionDeclarationsOf(entityOrVersion.constructor)[0]?.propertyName ?? "version";
  return quote((entityOrVersion as Record<string, unknown>)[property], entityName, property);
}

function quote(version: unknown, entityName: string, property: string): string {
  if (!isVersionNumber(version)) throw new InvalidVersionError(entityName, property, version);
  return `"${version}"`;
}
