import { Catch, type ArgumentsHost, type ExceptionFilter } from "@nestjs/common";
import { StaleDataError } from "../errors";
import type { ErrorHandlerRequest, ErrorHandlerResponse } from "../http/occ-error-handler";
import { sendProblem } from "../http/send-problem";
import { staleDataProblem } from "../http/stale-data-problem";

export interface StaleDataExceptionFilterOptions {
  /** Prefix for the problem's `type` URI (`${typeBase}stale-data`). Defaults to none: `type` is `"about:blank"`. */
  typeBase?: string;
}

/**
 * A NestJS exception filter (Express platform) that answers `StaleDataError` with RFC 9457 problem
 * details: 412 Precondition Failed when the request carried `If-Match`, 409 Conflict otherwise.
 *
 * @example
 * // main.ts
 * app.useGlobalFilters(new StaleDataExceptionFilter());
 *
 * // or per controller
 * @UseFilters(new StaleDataExceptionFilter())
 * @Controller("orders")
 * class OrdersController {}
 */
@Catch(StaleDataError)
export class StaleDataExceptionFilter implements ExceptionFilter<StaleDataError> {
  constructor(private readonly options: StaleDataExceptionFilterOptions = {}) {}

  catch(exception: StaleDataError, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<ErrorHandlerRequest>();
    const res = http.getResponse<ErrorHandlerResponse>();
    const status = req.headers["if-match"] === undefined ? 409 : 412;
    sendProblem(res, staleDataProblem(exception, { status, typeBase: this.options.typeBase }));
  }
}
