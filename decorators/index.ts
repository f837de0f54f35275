export { VersionColumn, type VersionColumnOptions } from "./version-column";
export { AggregateRoot } from "./aggregate-root";
export { AggregateMember } from "./aggregate-member";
