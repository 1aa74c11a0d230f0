/**
 * A counted eventcount: how the queues' conditions and the pool's doorbell let a burst of
 * signals cost one kernel call while a sleeper is on its way. Three Int32 cells of one
 * array, at indices the caller gives:
 *
 *   SEQ       bumped by every signal; a sleeper parks on it while it holds what it sampled
 *   SLEEPERS  sleepers counted (raised before they sample SEQ and look once more)
 *   WOKEN     sleepers a notify reached that are not up yet
 *
 * A signal is skipped when SLEEPERS - WOKEN <= 0: every counted sleeper is already on its
 * way and looks again after the state it was signalled for changed. Two orders keep that
 * difference from ever being understated, which would leave a sleeper parked beside the
 * item it waits for (a lost wake-up):
 *
 *  - WOKEN is raised only after a notify that reached a sleeper. A notify that reaches
 *    none (the counted sleeper has not parked yet: SEQ changed under it, so its park
 *    returns at once) must not look, even for a moment, like a sleeper on its way: a second
 *    signal that skipped because of it would be lost.
 *  - A sleeper that gets up lowers WOKEN before SLEEPERS, and a signal reads SLEEPERS
 *    before WOKEN: read in between, a sleeper getting up counts as still parked (an extra
 *    wake-up at worst), never as up and still owed nothing.
 */

/** Wakes one sleeper counted in `sleepers`, unless all of them are signalled and on their way. */
export function signalOne(cells: Int32Array, seq: number, sleepers: number, woken: number): void {
  if (Atomics.load(cells, sleepers) - Atomics.load(cells, woken) <= 0) return;
  Atomics.add(cells, seq, 1);
  if (Atomics.notify(cells, seq, 1) !== 0) Atomics.add(cells, woken, 1);
}

/** A counted sleeper is up after a park that ended with `result` ("ok": a signal reached it). */
export function gotUp(cells: Int32Array, sleepers: number, woken: number, result: string): void {
  if (result === "ok") Atomics.sub(cells, woken, 1);
  Atomics.sub(cells, sleepers, 1);
}
