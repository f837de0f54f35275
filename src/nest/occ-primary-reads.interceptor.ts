import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from "@nestjs/common";
import { Observable } from "rxjs";
import { isWriteMethod, withPrimaryReads } from "../replication/primary-reads";

/**
 * A NestJS interceptor for replicated DataSources: while a request that changes state (any method
 * but GET, HEAD and OPTIONS) is handled, every read through TypeORM — injected repositories
 * included — goes to the primary, as inside `readFromPrimary()`. `OccModule.forRoot()` registers
 * it globally (`primaryReadsForWrites: false` to opt out). Other contexts (RPC, WebSockets) pass through.
 *
 * @example
 * @UseInterceptors(OccPrimaryReadsInterceptor)
 * @Controller("orders")
 * class OrdersController {}
 */
@Injectable()
export class OccPrimaryReadsInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== "http" || !isWriteMethod(context.switchToHttp().getRequest<{ method?: string }>().method))
      return next.handle();
    // The handler runs when the observable is subscribed to: subscribe inside the scope.
    return new Observable((subscriber) => withPrimaryReads(() => next.handle().subscribe(subscriber)));
  }
}
