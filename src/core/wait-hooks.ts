/**
 * The hook slot through which the diagnostics (deadlock detection, lock statistics, thread
 * dumps, tracing) see every wait, so that neither the parking word nor a primitive imports
 * them: a primitive describes what it waits for in a {@link WaitSite}, the wait drivers
 * (core/wait.ts) report the wait's start and end here, and each diagnostic that is switched
 * on adds a hook.
 *
 * Only slow paths come here: a wait is reported once, just before its first park, and
 * once when it ends. With no hook added, `hooked` is false and a driver skips the calls.
 */

/** What kind of object a thread waits on. */
export type WaitKind =
  | "lock"
  | "rlock"
  | "condition"
  | "semaphore"
  | "event"
  | "barrier"
  | "queue-get"
  | "queue-put"
  | "queue-join"
  | "join"
  | "sleep"
  | "future";

/** One wait, as a primitive describes it. */
export interface WaitSite {
  readonly kind: WaitKind;
  /**
   * The primitive's cells in the shared heap: `cells.byteOffset` names the object in every
   * thread. Absent for waits on no shared object (sleep, a future on the main thread).
   */
  readonly cells?: Int32Array;
  /** For a join: the ident of the thread joined. */
  readonly target?: number;
  /** How messages name the object: the primitive's `name`, or "Lock#3". */
  readonly label: string;
}

/** How a wait ended. */
export type WaitOutcome = "ok" | "timed-out" | "aborted" | "failed";

/** A diagnostic's view of waits. */
export interface WaitHook {
  /**
   * A wait is about to park for the first time. May throw (a `DeadlockError`): the wait
   * then fails with that error, leaving no state behind, and `waitEnd` is not called for it.
   */
  waitStart?(site: WaitSite): void;
  /** The wait ended (it holds what it waited for, ran out of time, was aborted, or threw). */
  waitEnd?(site: WaitSite, outcome: WaitOutcome): void;
}

const hooks: WaitHook[] = [];

/** True while some hook is added: a driver reports waits only then. */
export let hooked = false;

/** Adds a hook; returns the function that removes it. */
export function addWaitHook(hook: WaitHook): () => void {
  hooks.push(hook);
  hooked = true;
  return () => {
    const at = hooks.indexOf(hook);
    if (at >= 0) hooks.splice(at, 1);
    hooked = hooks.length > 0;
  };
}

const probes: (() => void)[] = [];

/**
 * Adds a probe: a check that every slow-path wait runs first, for a diagnostic that is
 * switched on from another thread (tracing) and must add its hook in this one. A probe
 * reads a shared flag and returns; it costs a call on a path that is about to park.
 */
export function addWaitProbe(probe: () => void): void {
  probes.push(probe);
}

/** Runs the probes (core/wait.ts calls it before deciding whether to report a wait). */
export function probeWait(): void {
  for (let i = 0; i < probes.length; i++) probes[i]();
}

/** Reports the start of a wait to every hook; if one throws, those already told hear "failed". */
export function reportWaitStart(site: WaitSite): void {
  for (let i = 0; i < hooks.length; i++) {
    try {
      hooks[i].waitStart?.(site);
    } catch (error) {
      for (let j = 0; j < i; j++) hooks[j].waitEnd?.(site, "failed");
      throw error;
    }
  }
}

/** Reports the end of a wait to every hook. */
export function reportWaitEnd(site: WaitSite, outcome: WaitOutcome): void {
  for (const hook of hooks) hook.waitEnd?.(site, outcome);
}
