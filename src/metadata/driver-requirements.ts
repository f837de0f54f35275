import type { DataSource } from "typeorm";
import { TypeOrmCompatibilityError } from "../errors";
import { hasGuardedEntities } from "./guarded-entities";

/**
 * What typeorm-occ needs of a driver's settings, checked at `initialize()`: the affected-row count
 * decides every version check, so it must count rows *matched*. mysql2 does with its FOUND_ROWS
 * flag, on by default; turned off, a statement that matches a row without changing it (the lock and
 * check of a root that is about to be removed) would report 0 and look stale forever.
 */
export function assertDriverRequirements(dataSource: DataSource): void {
  const options = dataSource.options as { type: string; flags?: unknown; extra?: { flags?: unknown } };
  if (options.type !== "mysql" && options.type !== "mariadb") return;
  const flags = [options.flags, options.extra?.flags].flatMap((value) =>
    Array.isArray(value) ? value : typeof value === "string" ? value.split(",") : [],
  );
  if (!flags.some((flag) => String(flag).trim().toUpperCase() === "-FOUND_ROWS")) return;
  if (!hasGuardedEntities(dataSource)) return;
  throw new TypeOrmCompatibilityError(
    `this ${options.type} DataSource turns off mysql2's FOUND_ROWS flag ("-FOUND_ROWS"), so the driver reports rows changed instead of rows matched, ` +
      "and typeorm-occ could not tell a stale row from an unchanged one; remove the flag",
  );
}
