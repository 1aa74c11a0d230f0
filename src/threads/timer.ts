/**
 * Timer: Python's `threading.Timer`, a thread that runs a function after a delay unless it
 * is cancelled first.
 *
 * A Timer is a Thread whose target is `runTimer` below (a module target of weft's own,
 * taken from the same copy of weft as the carrier): it parks on a shared state word with a
 * timeout (Atomics.wait, no CPU while it waits), and `cancel()` flips the word and wakes it.
 * The word also decides the race between a cancel and the deadline, with one
 * compare-and-swap: either the timer fires (and a later cancel does nothing, as in Python)
 * or it is cancelled and the function never runs.
 *
 * The delay counts from `start()`, on the process-wide monotonic clock (`process.hrtime`,
 * the same in every thread), so the time a cold worker takes to boot is part of it.
 */
import type { SendableArgs } from "../transport/sendable.js";
import { ValueError } from "../core/errors.js";
import { nextThreadNumber } from "../core/identity.js";
import { checkSendable } from "../transport/encode.js";
import { closureHint, describeTarget, resolveTarget, type ModuleTarget, type TargetDescriptor } from "../transport/target.js";
import { carrierModule } from "./carrier.js";
import { Thread } from "./thread.js";

/** State word values: the timer waits, was cancelled, or has fired (its function runs or ran). */
const WAITING = 0;
const CANCELLED = 1;
const FIRED = 2;
/** The deadline cell's value for a timer that never fires by itself (`ms` is Infinity). */
const NEVER = -1n;

const timerTarget: ModuleTarget = { module: carrierModule("./timer.js"), export: "runTimer" };

/**
 * Python's `threading.Timer`: `new Timer(ms, target, args?)` runs `target(...args)` on a
 * thread of its own `ms` milliseconds after `start()`, unless `cancel()` was called first.
 * It is a {@link Thread} (`join`, `isAlive`, `name`, `daemon`, `result`, `error`); as in
 * Python its default name is "Thread-N". The target is shipped as any thread target: a
 * self-contained function or a module export.
 */
export class Timer<R = unknown, A extends unknown[] = unknown[]> extends Thread<R, unknown[]> {
  /** The delay in milliseconds (Python's `interval`). */
  readonly interval: number;
  /** Cell 0: WAITING / CANCELLED / FIRED. */
  readonly #state: Int32Array;
  /** Cell 0: when to fire, in nanoseconds of `process.hrtime.bigint()`; set by `start()`. */
  readonly #deadline: BigInt64Array;
  readonly #userArgs: A;

  constructor(ms: number, target: ((...args: A) => R | PromiseLike<R>) | ModuleTarget, args?: SendableArgs<A>) {
    if (typeof ms !== "number") throw new TypeError(`new Timer(ms, target, args?): ms must be a number of milliseconds, got ${typeof ms}`);
    if (Number.isNaN(ms) || ms < 0) throw new ValueError(`new Timer(ms, target, args?): ms must be a non-negative number of milliseconds, got ${ms}`);
    const descriptor: TargetDescriptor = describeTarget(target, "new Timer(ms, target, args?): target");
    if (args !== undefined && !Array.isArray(args)) {
      throw new TypeError(`new Timer(ms, target, args?): args must be an array, got ${args === null ? "null" : typeof args}`);
    }
    const userArgs = (args ?? []) as unknown as A;
    // Raw shared memory, not weft's heap: two cells that live exactly as long as someone holds them.
    const memory = new SharedArrayBuffer(16);
    const state = new Int32Array(memory, 0, 1);
    const deadline = new BigInt64Array(memory, 8, 1);
    // Python's Timer calls Thread.__init__() with no target: its name is plain "Thread-N".
    super({ target: timerTarget, args: [state, deadline, descriptor, userArgs], name: `Thread-${nextThreadNumber()}` });
    this.interval = ms;
    this.#state = state;
    this.#deadline = deadline;
    this.#userArgs = userArgs;
  }

  /**
   * Starts the countdown on the timer's thread. Arguments that cannot be sent throw a
   * `TypeError` naming their path (`args[0]...`), before anything starts.
   */
  override start(): void {
    checkSendable(this.#userArgs, "args");
    const ms = this.interval;
    Atomics.store(this.#deadline, 0, ms === Infinity ? NEVER : process.hrtime.bigint() + BigInt(Math.ceil(ms * 1e6)));
    super.start();
  }

  /**
   * Stops the timer, if it is still waiting: its function will not run, and its thread ends
   * (join it to know when). Once the function has started this does nothing, as in Python.
   * May be called before `start()`: the timer then ends as soon as it starts.
   */
  cancel(): void {
    if (Atomics.compareExchange(this.#state, 0, WAITING, CANCELLED) === WAITING) Atomics.notify(this.#state, 0);
  }
}

/**
 * @internal The body of a Timer's thread: waits for the deadline or a cancel, then, unless
 * cancelled, runs the target. Its failure is the thread's (the excepthook reports it).
 */
export async function runTimer(state: Int32Array, deadline: BigInt64Array, descriptor: TargetDescriptor, args: unknown[]): Promise<unknown> {
  const due = Atomics.load(deadline, 0);
  for (;;) {
    const left = due === NEVER ? Infinity : Number(due - process.hrtime.bigint()) / 1e6;
    if (left <= 0) break;
    if (Atomics.wait(state, 0, WAITING, left) === "not-equal") break;
  }
  if (Atomics.compareExchange(state, 0, WAITING, FIRED) !== WAITING) return undefined; // cancelled
  try {
    const target = await resolveTarget(descriptor);
    return await target(...args);
  } catch (error) {
    // The carrier's hint looks at the thread's target, this module: give the user's instead.
    const hint = closureHint(error, descriptor);
    if (hint !== undefined && error instanceof Error) error.message = `${error.message}. ${hint}`;
    throw error;
  }
}
