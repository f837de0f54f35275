/** The ways a Nest app registers an exception filter, plus the library's one-line module. */
export const REGISTRATIONS = ["useGlobalFilters", "APP_FILTER", "UseFilters class", "UseFilters instance", "OccModule.forRoot"] as const;
export type Registration = (typeof REGISTRATIONS)[number];

/** `typeBase` given to OccModule.forRoot in the "OccModule.forRoot" app, to prove options reach the filter. */
export const TYPE_BASE = "https://example.test/problems/";
