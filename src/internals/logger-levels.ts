import type { DataSource } from "typeorm";

/** TypeORM's `AbstractLogger` (the base of its own loggers and of most custom ones) filters by level in this protected method. */
interface LevelFilteringLogger {
  isLogEnabledFor(level: "warn"): boolean;
}

/**
 * Whether `dataSource.logger.log("warn", …)` prints something. TypeORM builds its own loggers from
 * the `logging` option, but hands a logger object given as `logger` every message and ignores
 * `logging` for it: such a logger filters by its own options when it extends `AbstractLogger`
 * (`new MyLogger()` without options drops "warn"), and otherwise receives the message as is.
 */
export function loggerPrintsWarnings(dataSource: DataSource): boolean {
  const { logger, logging } = dataSource.options;
  if (typeof logger === "object" && logger !== null) {
    const filtering = dataSource.logger as Partial<LevelFilteringLogger>;
    if (typeof filtering.isLogEnabledFor !== "function") return true;
    try {
      return filtering.isLogEnabledFor("warn") === true;
    } catch {
      return false;
    }
  }
  return logging === "all" || (Array.isArray(logging) && logging.includes("warn"));
}
