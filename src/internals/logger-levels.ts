import type { DataSource } from "typeorm";

/** TypeORM's `AbstractLogger` (the base of its own loggers and of most custom ones) filters by level in this protected method. */
interface LevelFilteringLogger {
  isLogEnabledFor(level: "warn"): boolean;
}

/**
 * Whether `dataSource.logger.log("warn", …)` prints something. A logger built on TypeORM's
 * `AbstractLogger` says so itself: TypeORM's own loggers (built from the `logging` option, which
 * reads `true` differently across TypeORM versions) and most custom ones, whose own options TypeORM
 * leaves alone (`new MyLogger()` without options drops "warn"). Any other logger object receives the
 * message as is.
 */
export function loggerPrintsWarnings(dataSource: DataSource): boolean {
  const filtering = dataSource.logger as Partial<LevelFilteringLogger>;
  if (typeof filtering.isLogEnabledFor === "function") {
    try {
      return filtering.isLogEnabledFor("warn") === true;
    } catch {
      return false;
    }
  }
  const { logger, logging } = dataSource.options;
  if (typeof logger === "object" && logger !== null) return true;
  return logging === "all" || logging === true || (Array.isArray(logging) && logging.includes("warn"));
}
