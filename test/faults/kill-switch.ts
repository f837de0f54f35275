import { EventSubscriber, type EntitySubscriberInterface, type QueryRunner, type TransactionCommitEvent } from "typeorm";

/**
 * Where inside a save the backend gets killed. TypeORM runs a save's statements in the order
 * INSERTs, UPDATEs, DELETEs, so pausing before the first UPDATE or DELETE lands between writes.
 */
export type KillPoint = "before-first-update" | "before-first-delete" | "before-commit";

interface Armed {
  point: KillPoint;
  reportPid(pid: number): void;
  killed: Promise<void>;
}

let armed: Armed | undefined;

/**
 * Arms the switch for the next save that passes `{ data: { killAt: point } }`: at that point the
 * save reports its backend pid and waits until `proceed()` is called (after the test killed it).
 */
export function arm(point: KillPoint): { pid: Promise<number>; proceed(): void } {
  let reportPid!: (pid: number) => void;
  let proceed!: () => void;
  const pid = new Promise<number>((resolve) => (reportPid = resolve));
  const killed = new Promise<void>((resolve) => (proceed = resolve));
  armed = { point, reportPid, killed };
  return { pid, proceed };
}

async function pause(queryRunner: QueryRunner | undefined, point: KillPoint): Promise<void> {
  const wanted = (queryRunner?.data as { killAt?: KillPoint } | undefined)?.killAt;
  if (!queryRunner || !armed || wanted !== point || armed.point !== point) return;
  const current = armed;
  armed = undefined;
  const [{ pid }] = (await queryRunner.query("SELECT pg_backend_pid() AS pid")) as Array<{ pid: number }>;
  current.reportPid(pid);
  await current.killed;
}

/** Runs on the save's own query runner, inside its transaction, so the kill lands there deterministically. */
/** TypeORM's BeforeQueryEvent, which is generic in 0.3 and not in 1.x: taken from the subscriber interface. */
type BeforeQueryEvent = Parameters<NonNullable<EntitySubscriberInterface["beforeQuery"]>>[0];

@EventSubscriber()
export class KillSwitch implements EntitySubscriberInterface {
  async beforeQuery(event: BeforeQueryEvent): Promise<void> {
    if (/^\s*UPDATE\b/i.test(event.query)) await pause(event.queryRunner, "before-first-update");
    if (/^\s*DELETE\b/i.test(event.query)) await pause(event.queryRunner, "before-first-delete");
  }

  async beforeTransactionCommit(event: TransactionCommitEvent): Promise<void> {
    await pause(event.queryRunner, "before-commit");
  }
}
