/**
 * typeorm-occ/nest: NestJS integration (Express platform). Needs `@nestjs/common`, `@nestjs/core` and
 * `rxjs`; without them, importing it throws `MissingPeerDependencyError` naming the command that
 * installs them.
 *
 * @example
 * import { OccModule } from "typeorm-occ/nest";
 *
 * @Module({ imports: [OccModule.forRoot()] })
 * class AppModule {}
 */
// First, before anything that imports Nest: a missing peer is reported with what to install.
import "./peer-dependencies";

export { OccExceptionFilter } from "./occ-exception.filter";
export { OccModule } from "./occ.module";
export { OccPrimaryReadsInterceptor } from "./occ-primary-reads.interceptor";
export type { OccNestOptions } from "./occ-nest-options";
