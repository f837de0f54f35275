import type { Logger } from "typeorm";

/**
 * A TypeORM Logger that only counts (and, while asked, records) the statements sent. Cheap enough
 * to stay on during timing, so both contenders pay the same tiny cost.
 */
export class StatementCounter implements Logger {
  count = 0;
  private recorded: string[] | undefined;

  logQuery(query: string): void {
    this.count++;
    this.recorded?.push(query);
  }
  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}

  /** The statements `work` sends. */
  async capture(work: () => Promise<unknown>): Promise<string[]> {
    const recorded: string[] = [];
    this.recorded = recorded;
    try {
      await work();
    } finally {
      this.recorded = undefined;
    }
    return recorded;
  }
}

/** "SELECT, BEGIN, UPDATE, COMMIT": the verb of each statement. */
export function verbs(statements: string[]): string {
  return statements.map((sql) => sql.trim().split(/\s+/, 1)[0].toUpperCase().replace("START", "BEGIN")).join(", ");
}
