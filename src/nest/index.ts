/**
 * typeorm-occ/nest: NestJS integration. Needs `@nestjs/common` (and the Express platform).
 *
 * @example
 * import { StaleDataExceptionFilter } from "typeorm-occ/nest";
 * app.useGlobalFilters(new StaleDataExceptionFilter());
 */
export { StaleDataExceptionFilter, type StaleDataExceptionFilterOptions } from "./stale-data-exception.filter";
