/**
 * typeorm-occ/nest: NestJS integration (Express platform). Needs `@nestjs/common` and `@nestjs/core`.
 *
 * @example
 * import { OccModule } from "typeorm-occ/nest";
 *
 * @Module({ imports: [OccModule.forRoot()] })
 * class AppModule {}
 */
export { OccExceptionFilter } from "./occ-exception.filter";
export { OccModule } from "./occ.module";
export { OccPrimaryReadsInterceptor } from "./occ-primary-reads.interceptor";
export type { OccNestOptions } from "./occ-nest-options";
