import type { EntityState, OpRecord, StepRecord } from "./history";

/** Replays one operation on a state; the checker knows nothing else about the workload. */
export type Apply = (state: EntityState, op: OpRecord["op"]) => EntityState;

export type AnomalyKind =
  /** An acknowledged write did not move the version by exactly one. */
  | "version-not-incremented"
  /** Two acknowledged writes claim the same version. */
  | "duplicate-version"
  /** A version in the chain was written by nobody acknowledged (and no indeterminate op can explain it). */
  | "missing-version"
  /** An acknowledged write was based on a state that was not the latest one: a lost update. */
  | "stale-read"
  /** Acknowledged increments missing from the final value (or unacknowledged ones present). */
  | "lost-increment"
  | "phantom-increment"
  /** The database's final state differs from replaying the acknowledged operations in version order. */
  | "final-state-mismatch"
  /** The final version is lower than an acknowledged one. */
  | "version-went-backwards"
  /** A write of a multi-step transaction reported a version other than the one its transaction committed. */
  | "wrong-version-reported";

export interface Anomaly {
  kind: AnomalyKind;
  entity: string;
  detail: string;
}

export interface FinalState {
  version: number;
  state: EntityState;
}

export interface CheckReport {
  ops: number;
  acknowledged: number;
  stale: number;
  /** Writes the library refused before sending anything (nothing written, nothing to retry). */
  refused: number;
  errors: number;
  /** Indeterminate (error) operations the checker found committed. */
  indeterminateApplied: number;
  /**
   * Acknowledged operations that reported no new version (read = written) and whose intended state
   * was already in the database at a later version: a save with nothing left to change writes
   * nothing (TypeORM issues no statement). Verified, not counted as anomalies.
   */
  noopAcknowledged: number;
  /** Steps of multi-step transactions: acknowledged, and refused while the transaction went on. */
  steps: { acknowledged: number; stale: number };
  /**
   * Refused steps whose copy showed exactly the state the transaction had reached: conflicts that were
   * not needed (no data was at risk). Not anomalies; a count to watch.
   */
  unneededRefusals: number;
  entities: number;
  anomalies: Anomaly[];
  anomaliesByKind: Partial<Record<AnomalyKind, number>>;
  /** Why attempts were refused or failed (error name and code), with counts. */
  reasons: Record<string, number>;
}

const same = (a: unknown, b: unknown) => canonical(a) === canonical(b);

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/**
 * Checks a history against the final database state. Per entity, the acknowledged writes (starting
 * with its insert, version 1) must form one chain 1, 2, 3, … with no duplicate and no gap, each
 * write must have read the state its predecessor wrote, and replaying them in version order must
 * give the final state. Operations that ended in an error may or may not have been committed: a gap
 * in the chain is accepted only when such an operation, read at the version before the gap, fills it.
 *
 * @param apply how an operation changes an entity's state, per entity kind (the part before `:`).
 */
export function checkHistory(
  records: readonly OpRecord[],
  finalStates: ReadonlyMap<string, FinalState>,
  apply: Record<string, Apply>,
): CheckReport {
  const anomalies: Anomaly[] = [];
  const byEntity = new Map<string, OpRecord[]>();
  for (const record of records) {
    const list = byEntity.get(record.entity) ?? [];
    list.push(record);
    byEntity.set(record.entity, list);
  }
  let indeterminateApplied = 0;
  let noopAcknowledged = 0;
  let unneededRefusals = 0;

  for (const [entity, ops] of byEntity) {
    const applyOp = apply[entity.split(":")[0]];
    if (!applyOp) throw new Error(`no replay function for ${entity}`);
    const flag = (kind: AnomalyKind, detail: string) => anomalies.push({ kind, entity, detail });
    /** A record's effect: its acknowledged steps in order, or its one operation. */
    const applyRecord = (from: EntityState, record: OpRecord): EntityState =>
      record.steps ? acknowledgedSteps(record).reduce((state, step) => applyOp(state, step.op), from) : applyOp(from, record.op);
    /**
     * Walks a multi-step transaction from the state it started on: each acknowledged step that wrote
     * from a copy must have seen what the transaction had reached by then (else it overwrote the
     * transaction's own earlier write, or another client's), and must report the committed version.
     */
    const checkSteps = (record: OpRecord, from: EntityState, written: number) => {
      let state = from;
      for (const [index, step] of (record.steps ?? []).entries()) {
        const where = `${record.worker} ${record.op.type} step ${index + 1} (${step.op.type})`;
        if (step.outcome !== "acknowledged") {
          if (step.stateRead !== null && same(step.stateRead, state)) unneededRefusals++;
          continue;
        }
        if (step.stateRead !== null && !same(step.stateRead, state)) {
          flag(
            "stale-read",
            `${where} wrote from a copy showing ${canonical(step.stateRead)}, the transaction had reached ${canonical(state)}`,
          );
        }
        if (step.versionReported !== undefined && step.versionReported !== written) {
          flag("wrong-version-reported", `${where} reported v${step.versionReported}, its transaction committed v${written}`);
        }
        state = applyOp(state, step.op);
      }
    };
    const acknowledged = ops.filter((op) => op.outcome === "acknowledged");
    const indeterminate = ops.filter((op) => op.outcome === "error" && op.versionRead !== null);

    const byVersion = new Map<number, OpRecord>();
    const noops: OpRecord[] = [];
    for (const op of acknowledged) {
      const written = op.versionWritten;
      if (written !== null && written === op.versionRead) {
        noops.push(op); // checked against the replayed states below
        continue;
      }
      if (written === null) {
        flag("version-not-incremented", `${op.worker} ${op.op.type}: acknowledged without a version`);
        continue;
      }
      const expected = op.versionRead === null ? 1 : op.versionRead + 1;
      if (written !== expected) {
        flag("version-not-incremented", `${op.worker} ${op.op.type}: read v${op.versionRead}, wrote v${written}`);
      }
      if (byVersion.has(written)) {
        flag("duplicate-version", `v${written} acknowledged to ${byVersion.get(written)!.worker} and ${op.worker}`);
      } else {
        byVersion.set(written, op);
      }
    }

    const insert = byVersion.get(1);
    if (!insert) {
      flag("missing-version", "no acknowledged insert (v1)");
      continue;
    }
    let state = insert.stateWritten;
    let version = 1;
    const statesByVersion = new Map<number, EntityState>([[1, state]]);
    const usedIndeterminate = new Set<OpRecord>();
    /** Fills a gap after `version` with an indeterminate op that read exactly that version and state. */
    const fillGap = (): boolean => {
      const candidate = indeterminate.find((op) => !usedIndeterminate.has(op) && op.versionRead === version && same(op.stateRead, state));
      if (!candidate) return false;
      usedIndeterminate.add(candidate);
      indeterminateApplied++;
      state = applyRecord(state, candidate);
      version++;
      statesByVersion.set(version, state);
      return true;
    };

    const versions = [...byVersion.keys()].sort((a, b) => a - b).filter((v) => v > 1);
    let known = true; // false after an unexplained gap: the replayed state is then unknown
    for (const written of versions) {
      const op = byVersion.get(written)!;
      while (version < written - 1) {
        if (!fillGap()) {
          flag("missing-version", `nobody acknowledged v${version + 1} (next acknowledged: v${written})`);
          version = written - 1;
          known = false;
        }
      }
      if (known && !same(op.stateRead, state)) {
        flag("stale-read", `${op.worker} ${op.op.type} (v${written}) read ${canonical(op.stateRead)}, latest was ${canonical(state)}`);
      }
      if (op.steps) checkSteps(op, known ? state : op.stateRead, written);
      state = known ? applyRecord(state, op) : op.stateWritten;
      known = true;
      version = written;
      statesByVersion.set(version, state);
    }

    const final = finalStates.get(entity);
    if (!final) {
      flag("final-state-mismatch", "entity missing from the database");
      continue;
    }
    if (final.version < version) {
      flag("version-went-backwards", `final v${final.version}, acknowledged up to v${version}`);
    }
    while (version < final.version) {
      if (!fillGap()) {
        flag("missing-version", `final v${final.version}, but acknowledged (or explained) only up to v${version}`);
        break;
      }
    }
    for (const op of noops) {
      const laterMatch = [...statesByVersion].some(([v, s]) => v > op.versionRead! && same(s, op.stateWritten));
      if (laterMatch) noopAcknowledged++;
      else
        flag(
          "version-not-incremented",
          `${op.worker} ${op.op.type}: read v${op.versionRead}, wrote v${op.versionWritten}, and its state never appeared later`,
        );
    }
    if (!same(final.state, state)) {
      flag("final-state-mismatch", `database has ${canonical(final.state)}, replay gives ${canonical(state)}`);
    }
    if (entity.startsWith("counter:") && typeof final.state === "number" && typeof insert.stateWritten === "number") {
      const increments = acknowledged.reduce((sum, op) => sum + incrementOf(op), 0);
      const maybe = indeterminate.reduce((sum, op) => sum + incrementOf(op), 0);
      const applied = final.state - insert.stateWritten;
      if (applied < increments) flag("lost-increment", `acknowledged increments add up to ${increments}, value moved by ${applied}`);
      if (applied > increments + maybe)
        flag("phantom-increment", `value moved by ${applied}, acknowledged increments add up to ${increments} (+${maybe} indeterminate)`);
    }
  }

  const anomaliesByKind: Partial<Record<AnomalyKind, number>> = {};
  for (const anomaly of anomalies) anomaliesByKind[anomaly.kind] = (anomaliesByKind[anomaly.kind] ?? 0) + 1;
  const count = (outcome: OpRecord["outcome"]) => records.filter((r) => r.outcome === outcome && r.op.type !== "insert").length;
  const reasons: Record<string, number> = {};
  const steps = { acknowledged: 0, stale: 0 };
  for (const record of records) {
    if (record.reason) reasons[record.reason] = (reasons[record.reason] ?? 0) + 1;
    // Steps are kept only on records of committed transactions (and of indeterminate ones, not counted).
    if (record.outcome === "error") continue;
    for (const step of record.steps ?? []) {
      steps[step.outcome]++;
      if (step.reason) reasons[`step ${step.reason}`] = (reasons[`step ${step.reason}`] ?? 0) + 1;
    }
  }
  return {
    reasons,
    ops: records.filter((r) => r.op.type !== "insert").length,
    acknowledged: count("acknowledged"),
    stale: count("stale"),
    refused: count("refused"),
    errors: count("error"),
    indeterminateApplied,
    noopAcknowledged,
    steps,
    unneededRefusals,
    entities: byEntity.size,
    anomalies,
    anomaliesByKind,
  };
}

const acknowledgedSteps = (record: OpRecord): StepRecord[] => (record.steps ?? []).filter((step) => step.outcome === "acknowledged");

/** How much an operation adds to a counter: `by` (default 1) of an increment, summed over acknowledged steps. */
function incrementOf(record: OpRecord): number {
  const amount = (op: OpRecord["op"]) => (op.type === "increment" ? ((op.by as number | undefined) ?? 1) : 0);
  return record.steps ? acknowledgedSteps(record).reduce((sum, step) => sum + amount(step.op), 0) : amount(record.op);
}

/** One line per report, for logs and the README. */
export function formatReport(label: string, report: CheckReport, extra = ""): string {
  const kinds = Object.entries(report.anomaliesByKind)
    .map(([kind, n]) => `${kind}=${n}`)
    .join(", ");
  const reasons = Object.entries(report.reasons)
    .map(([reason, n]) => `${reason}: ${n}`)
    .join(", ");
  return (
    `${label}: ops=${report.ops} acknowledged=${report.acknowledged} stale/retried=${report.stale}${report.refused ? ` refused=${report.refused}` : ""} errors=${report.errors}` +
    `${report.noopAcknowledged ? ` no-op-acks=${report.noopAcknowledged}` : ""}` +
    `${report.steps.acknowledged + report.steps.stale ? ` steps=${report.steps.acknowledged} acknowledged/${report.steps.stale} refused` : ""}` +
    `${report.unneededRefusals ? ` unneeded-refusals=${report.unneededRefusals}` : ""} entities=${report.entities} anomalies=${report.anomalies.length}${kinds ? ` (${kinds})` : ""}` +
    `${reasons ? ` [${reasons}]` : ""}${extra}`
  );
}
