/**
 * Options of {@link OccModule.forRoot} and {@link OccExceptionFilter}.
 *
 * @example
 * OccModule.forRoot({ typeBase: "https://api.example.com/problems/" }); // type: ".../stale-data"
 * new OccExceptionFilter({ typeBase: "https://api.example.com/problems/" });
 */
export interface OccNestOptions {
  /** Prefix for problem `type` URIs (`${typeBase}stale-data`, …). Defaults to none: `type` is `"about:blank"`. */
  typeBase?: string;
  /**
   * `OccModule.forRoot()` only: register `OccPrimaryReadsInterceptor` globally, so requests
   * other than GET, HEAD and OPTIONS read from the primary of a replicated DataSource. Defaults to true.
   */
  primaryReadsForWrites?: boolean;
}

/** The DI token {@link OccModule.forRoot} provides its options under; the filter reads it when present. */
export const OCC_NEST_OPTIONS = Symbol.for("typeorm-occ/nest:options");
