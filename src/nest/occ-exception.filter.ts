import { Catch, Inject, Optional, type ArgumentsHost, type ExceptionFilter } from "@nestjs/common";
import type { ErrorHandlerRequest, ErrorHandlerResponse } from "../http/occ-error-handler";
import { CLIENT_ERROR_CLASSES, occProblemFor } from "../http/occ-problem-for";
import { sendProblem } from "../http/send-problem";
import { OCC_NEST_OPTIONS, type OccNestOptions } from "./occ-nest-options";

/**
 * A NestJS exception filter (Express platform, the default) that answers typeorm-occ's
 * client-caused errors with RFC 9457 problem details, exactly as `occErrorHandler()` from
 * `typeorm-occ/http` does: `StaleDataError` → 412 with `If-Match`, else 409;
 * `PreconditionRequiredError` → 428; `PreconditionHeaderError`, `InvalidVersionError`,
 * `MissingVersionError` → 400. It catches nothing else, so your other filters and Nest's own
 * handling (`HttpException`s, 500 for the rest) are untouched.
 *
 * Register it any way Nest offers; `OccModule.forRoot()` does it in one line.
 *
 * @example
 * // app.module.ts: global, through DI
 * @Module({ providers: [{ provide: APP_FILTER, useClass: OccExceptionFilter }] })
 * class AppModule {}
 *
 * // or main.ts
 * app.useGlobalFilters(new OccExceptionFilter());
 *
 * // or one controller
 * @UseFilters(OccExceptionFilter)
 * @Controller("orders")
 * class OrdersController {}
 */
@Catch(...CLIENT_ERROR_CLASSES)
export class OccExceptionFilter implements ExceptionFilter<Error> {
  private readonly options: OccNestOptions;

  // The options are injected by token, never by type: Nest resolves constructor parameters from
  // design:paramtypes, and an untokened `object` parameter cannot be resolved.
  constructor(@Optional() @Inject(OCC_NEST_OPTIONS) options?: OccNestOptions) {
    this.options = options ?? {};
  }

  catch(exception: Error, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<ErrorHandlerRequest>();
    const res = http.getResponse<ErrorHandlerResponse>();
    const problem = occProblemFor(exception, { hadIfMatch: req.headers["if-match"] !== undefined, typeBase: this.options.typeBase });
    // @Catch lists exactly the mapped classes, so a problem always exists; rethrowing keeps any
    // future mismatch visible instead of answering something made up.
    if (!problem) throw exception;
    sendProblem(res, problem);
  }
}
