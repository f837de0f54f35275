import { Module, type DynamicModule } from "@nestjs/common";
import { APP_FILTER, APP_INTERCEPTOR } from "@nestjs/core";
import { OccExceptionFilter } from "./occ-exception.filter";
import { OccPrimaryReadsInterceptor } from "./occ-primary-reads.interceptor";
import { OCC_NEST_OPTIONS, type OccNestOptions } from "./occ-nest-options";

/**
 * Wires typeorm-occ into a NestJS app: {@link OccExceptionFilter} becomes a global filter
 * (`APP_FILTER`), and its options are available to `@UseFilters(OccExceptionFilter)` anywhere;
 * {@link OccPrimaryReadsInterceptor} becomes a global interceptor (`APP_INTERCEPTOR`), so requests
 * that change state read from the primary of a replicated DataSource (`primaryReadsForWrites: false`
 * leaves it out).
 *
 * @example
 * @Module({ imports: [OccModule.forRoot()], controllers: [OrdersController] })
 * class AppModule {}
 *
 * // problem `type` URIs under your own base instead of "about:blank":
 * OccModule.forRoot({ typeBase: "https://api.example.com/problems/" });
 */
@Module({})
export class OccModule {
  static forRoot(options: OccNestOptions = {}): DynamicModule {
    return {
      module: OccModule,
      global: true,
      providers: [
        { provide: OCC_NEST_OPTIONS, useValue: options },
        { provide: APP_FILTER, useClass: OccExceptionFilter },
        ...(options.primaryReadsForWrites === false ? [] : [{ provide: APP_INTERCEPTOR, useClass: OccPrimaryReadsInterceptor }]),
      ],
      exports: [OCC_NEST_OPTIONS],
    };
  }
}
