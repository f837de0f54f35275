/**
 * One clock that orders the reads of copies (ReadStamp.seq) against the writes transactions record
 * (RowWrite.seq) and roll back: a copy shows a write when it was read after it, in its transaction.
 */
let clock = 0;

export function tick(): number {
  clock += 1;
  return clock;
}
