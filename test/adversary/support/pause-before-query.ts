import { EventSubscriber, type EntitySubscriberInterface } from "typeorm";

/** TypeORM's BeforeQueryEvent (generic in 0.3, not in 1.x), taken from the subscriber interface. */
type BeforeQueryEvent = Parameters<NonNullable<EntitySubscriberInterface["beforeQuery"]>>[0];

interface Pause {
  matches: RegExp;
  run: () => Promise<void>;
}

let armed: Pause | undefined;

/**
 * The next statement matching `matches`, on a DataSource that registered {@link PauseBeforeQuery},
 * first awaits `run` (another client's write): a deterministic interleaving between two statements
 * of one TypeORM call.
 */
export function pauseBeforeNext(matches: RegExp, run: () => Promise<void>): { ran: () => boolean } {
  const pause: Pause = { matches, run };
  armed = pause;
  return { ran: () => armed !== pause };
}

@EventSubscriber()
export class PauseBeforeQuery implements EntitySubscriberInterface {
  async beforeQuery(event: BeforeQueryEvent): Promise<void> {
    const pause = armed;
    if (!pause || !pause.matches.test(event.query)) return;
    armed = undefined;
    await pause.run();
  }
}
