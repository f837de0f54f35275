export function formatPrimaryKey(primaryKey: Record<string, unknown>): string {
  const values = Object.values(primaryKey);
  if (values.length === 1) return String(values[0]);
  return `(${Object.entries(primaryKey)
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(", ")})`;
}

/** `{ id: 7, balance: moreThanOrEqual(100) }`: find-where criteria for a message. */
export function describeCriteria(criteria: Readonly<Record<string, unknown>>): string {
  const describe = (value: unknown): string => {
    if (value instanceof Date) return value.toISOString();
    if (typeof value === "object" && value !== null) {
      const operator = value as { "@instanceof"?: unknown; type?: unknown; value?: unknown };
      if (operator["@instanceof"] === Symbol.for("FindOperator")) return `${String(operator.type)}(${describe(operator.value)})`;
      if (Array.isArray(value)) return `[${value.map(describe).join(", ")}]`;
      return `{ ${Object.entries(value)
        .map(([key, inner]) => `${key}: ${describe(inner)}`)
        .join(", ")} }`;
    }
    return typeof value === "string" ? JSON.stringify(value) : String(value);
  };
  return `where ${describe(criteria)}`;
}

/**
 * Whether a string is an `If-Match` header value (an ETag, strong or weak) rather than a bare
 * version: such a value is read with `parseIfMatch()`, not `parseVersion()`.
 */
export function looksLikeEtag(value: string): boolean {
  return /^\s*(W\/)?"/.test(value);
}

/** What to do with a string where a version number belongs: it came from outside, unconverted. */
export function conversionHint(value: unknown): string {
  if (typeof value !== "string") return "";
  if (looksLikeEtag(value)) return ' (an If-Match value: read it with parseIfMatch() from "typeorm-occ/http")';
  return " (convert request input with parseVersion() first)";
}

export function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "bigint" || value === null || value === undefined) return String(value);
  return Object.prototype.toString.call(value);
}
