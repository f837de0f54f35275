import type { Logger } from "typeorm";

/** Records every statement TypeORM sends, to assert on the SQL typeorm-occ issues. */
export class QueryLog implements Logger {
  readonly queries: string[] = [];
  private recording = true;

  logQuery(query: string): void {
    if (this.recording) this.queries.push(query);
  }
  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}

  clear(): void {
    this.queries.length = 0;
  }

  /** Statements that write or control transactions (SELECTs left out unless asked). */
  writes(): string[] {
    return this.queries.filter((query) => /^\s*(INSERT|UPDATE|DELETE)\b/i.test(query));
  }

  updates(table?: string): string[] {
    return this.queries.filter((query) => /^\s*UPDATE\b/i.test(query) && (!table || query.includes(table)));
  }

  async capture<T>(work: () => Promise<T>): Promise<string[]> {
    this.clear();
    await work();
    return [...this.queries];
  }
}
