import { isWriteMethod, withPrimaryReads } from "../replication/primary-reads";

/** What the middleware reads of a request: its method. */
export interface PrimaryReadsRequest {
  method?: string;
}

/**
 * Express (or Connect-style) middleware for replicated DataSources: while a request that changes
 * state (any method but GET, HEAD and OPTIONS) is handled, every read through TypeORM — the global
 * repositories included — goes to the primary, as inside `readFromPrimary()`. A PATCH that loads the
 * row, checks `If-Match` and saves then never loads from a replica that has not seen the last write;
 * GET requests keep reading from the replicas. On a DataSource without replication it changes nothing.
 *
 * @example
 * import { primaryReadsForWrites } from "typeorm-occ/http";
 *
 * app.use(primaryReadsForWrites()); // before the routes
 */
export function primaryReadsForWrites(): (request: PrimaryReadsRequest, response: unknown, next: (error?: unknown) => void) => void {
  return (request, _response, next) => (isWriteMethod(request.method) ? withPrimaryReads(() => next()) : next());
}
