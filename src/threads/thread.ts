/**
 * Thread: Python's `threading.Thread`, running on a worker of its own.
 *
 * The target is shipped by source or by module (transport/target.ts), the arguments are
 * encoded so shared objects arrive live (transport/encode.ts), and the thread runs on a
 * warm carrier (carrier.ts), so start + join of a trivial target costs well under a
 * millisecond once a carrier is warm.
 *
 * A thread may start threads too: the main thread lends the carrier (launcher.ts), so the
 * main thread's event loop must be free for that, as it must be for any async wait there.
 */
import type { ResourceLimits } from "node:worker_threads";
import { currentConfig } from "../core/config.js";
import { RuntimeError, WorkerCrashedError } from "../core/errors.js";
import { allocateIdent, nextThreadNumber } from "../core/identity.js";
import { PACKAGE_NAME } from "../core/package.js";
import { assertMayBlock } from "../core/parking.js";
import { park, runSync, settleWithin, type Wait } from "../core/wait.js";
import type { WaitSite } from "../core/wait-hooks.js";
import { waitMode } from "../core/wait-targets.js";
import { checkOptions, deadlineOf, throwIfAborted, type WaitOptions } from "../core/timeouts.js";
import { decode, encode } from "../transport/encode.js";
import { decodeError } from "../transport/errors.js";
import { bootstrappingModule, describeTarget, targetName, type ModuleTarget, type TargetDescriptor } from "../transport/target.js";
import type { CarrierClient } from "./carrier.js";
import { launch, type Launched } from "./launcher.js";
import { MAIN_THREAD, ThreadInfo, currentThread, type ThreadHandle } from "./current.js";
import { reportThreadException } from "./excepthook.js";
import { FINISHED, RUNNING, type DoneMessage, type RunMessage } from "./protocol.js";
import { DAEMON, liveCount, liveThreads, nativeIdOf, registerThread, unregisterThread } from "../core/thread-table.js";
import { threadRepr } from "../core/repr.js";
import type { SendableArgs } from "../transport/sendable.js";

/** Options of the {@link Thread} constructor. */
export interface ThreadOptions<R, A extends unknown[]> {
  /** A self-contained function (shipped as source) or a module export `{ module, export }`. */
  target: ((...args: A) => R | PromiseLike<R>) | ModuleTarget;
  /** Arguments for the target; weft's shared objects inside arrive as live handles. Functions are a type error. */
  args?: SendableArgs<A>;
  /** Default: "Thread-N (targetName)", as Python. */
  name?: string;
  /** A daemon thread does not keep the process alive. Default: the creating thread's. */
  daemon?: boolean;
  /** V8 heap limits for this thread's worker (it then gets a worker of its own). */
  resourceLimits?: ResourceLimits;
}

const started = new Map<number, Thread<unknown, unknown[]>>();

/** Threads whose failures their owner reports itself (a pool's workers), not the excepthook. */
const quietThreads = new WeakSet<object>();

/** @internal Keeps `thread`'s failure away from the excepthook: its owner handles it. */
export function quietThread(thread: object): void {
  quietThreads.add(thread);
}

/** A thread of execution on its own worker, with Python's `threading.Thread` semantics. */
export class Thread<R = unknown, A extends unknown[] = unknown[]> implements ThreadHandle {
  #name: string;
  #daemon: boolean;
  readonly #target: TargetDescriptor;
  readonly #args: A;
  readonly #resourceLimits: ResourceLimits | undefined;
  #ident: number | null = null;
  #nativeId: number | null = null;
  #slot = -1;
  #control: Int32Array | undefined;
  #launched: Launched | undefined;
  #done = false;
  #whenDone: Promise<void> | undefined;
  #resolveDone: (() => void) | undefined;
  /**
   * Joins that may end early (a timeout or a signal), called when the thread ends. A set,
   * not a reaction on `#whenDone` per join: a reaction cannot be withdrawn, so every join
   * that ended early would stay in memory until the thread ends (a pool watching its
   * long-lived workers once per busy period leaked that way).
   */
  readonly #joinWaiters = new Set<() => void>();
  #result: R | undefined;
  #error: unknown;
  #exitCode: number | undefined;

  constructor(options: ThreadOptions<R, A>) {
    if (options === null || typeof options !== "object") {
      throw new TypeError(`new Thread(options): expected an object with a target, got ${options === null ? "null" : typeof options}`);
    }
    this.#target = describeTarget(options.target, "new Thread(options): options.target");
    if (options.args !== undefined && !Array.isArray(options.args)) {
      throw new TypeError(`new Thread(options): options.args must be an array, got ${typeof options.args}`);
    }
    this.#args = (options.args ?? []) as unknown as A;
    if (options.name !== undefined && typeof options.name !== "string") {
      throw new TypeError(`new Thread(options): options.name must be a string, got ${typeof options.name}`);
    }
    const label = targetName(this.#target);
    // As Python: an empty name is no name.
    const number = options.name ? 0 : nextThreadNumber();
    this.#name = options.name || (label ? `Thread-${number} (${label})` : `Thread-${number}`);
    if (options.daemon !== undefined && typeof options.daemon !== "boolean") {
      throw new TypeError(`new Thread(options): options.daemon must be a boolean, got ${typeof options.daemon}`);
    }
    this.#daemon = options.daemon ?? currentThread().daemon;
    this.#resourceLimits = options.resourceLimits;
  }

  /** The thread's name. */
  get name(): string {
    return this.#name;
  }
  set name(value: string) {
    if (typeof value !== "string") throw new TypeError(`Thread.name must be a string, got ${typeof value}`);
    this.#name = value;
  }

  /** A daemon thread does not keep the process alive; settable only before `start()`. */
  get daemon(): boolean {
    return this.#daemon;
  }
  set daemon(value: boolean) {
    if (this.#ident !== null) throw new RuntimeError("cannot set daemon status of active thread");
    if (typeof value !== "boolean") throw new TypeError(`Thread.daemon must be a boolean, got ${typeof value}`);
    this.#daemon = value;
  }

  /** Unique among live threads; `null` until started. */
  get ident(): number | null {
    return this.#ident;
  }

  /** The id of the worker thread running it; `null` until started. */
  get nativeId(): number | null {
    if (this.#nativeId === null && this.#ident !== null && !this.#done) this.#nativeId = nativeIdOf(this.#slot) || null;
    return this.#nativeId;
  }

  /** The target's return value (awaited), once finished; `undefined` before or on error. */
  get result(): R | undefined {
    return this.#result;
  }

  /** What the target threw, once finished (also passed to the excepthook); `undefined` otherwise. */
  get error(): unknown {
    return this.#error;
  }

  /** True from `start()` until the target has returned or thrown. */
  isAlive(): boolean {
    return this.#ident !== null && !this.#done && (this.#control === undefined || Atomics.load(this.#control, 0) !== FINISHED);
  }

  /** Starts the thread. Arguments that cannot be sent throw a `TypeError` naming their path, before anything starts. */
  start(): void {
    if (this.#ident !== null) throw new RuntimeError("threads can only be started once");
    const bootstrapping = bootstrappingModule();
    if (bootstrapping !== undefined) {
      throw new RuntimeError(
        `An attempt has been made to start a new thread before the current thread has finished its bootstrapping phase: ` +
          `thread "${currentThread().name}" is importing ${bootstrapping} to find its target, and that module's top level starts a thread, ` +
          `so every thread would start another. Put the code that starts threads in that module inside ` +
          `\`if (isMainThread) { ... }\` (import { isMainThread } from "${PACKAGE_NAME}"), as Python's \`if __name__ == "__main__":\``,
      );
    }
    const args = encode(this.#args, "args");
    const ident = allocateIdent();
    const control = new Int32Array(new SharedArrayBuffer(4));
    control[0] = RUNNING;
    this.#slot = registerThread(ident, this.#name, this.#daemon ? DAEMON : 0);
    this.#ident = ident;
    this.#control = control;
    this.#whenDone = new Promise((resolve) => (this.#resolveDone = resolve));
    started.set(ident, this as Thread<unknown, unknown[]>);
    const client: CarrierClient = {
      finished: (message) => this.#finish(message),
      crashed: (error, exitCode) => this.#crash(error, exitCode),
    };
    const run: RunMessage = {
      type: "run",
      ident,
      name: this.#name,
      daemon: this.#daemon,
      slot: this.#slot,
      target: this.#target,
      args,
      control,
      config: { ...currentConfig() },
    };
    try {
      this.#launched = launch(run, client, this.#resourceLimits);
    } catch (error) {
      // The arguments passed our checks but not structured cloning (a MessagePort, a
      // Proxy), or no worker could be started: undo the start, so that nothing started.
      started.delete(ident);
      unregisterThread(this.#slot, ident);
      this.#slot = -1;
      this.#ident = null;
      this.#control = undefined;
      this.#whenDone = undefined;
      this.#resolveDone = undefined;
      if (error instanceof RuntimeError) throw error; // no worker to run it on (carrier.ts)
      // Only a cloning failure is the arguments' fault; a worker that cannot start says why itself.
      if (!(error instanceof TypeError || (error instanceof Error && error.name === "DataCloneError"))) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      throw new TypeError(`args: cannot be sent to a thread: ${reason}`, { cause: error });
    }
  }

  /**
   * Resolves once the thread has finished (its output is out, `result`/`error` are set),
   * or once `timeout` elapsed — check `isAlive()` then, as in Python. `signal` rejects the
   * wait (the thread runs on).
   */
  join(options?: WaitOptions): Promise<void> {
    try {
      checkOptions(options, "Thread.join()");
      const deadline = deadlineOf(options?.timeout, "Thread.join()");
      this.#checkJoinable();
      throwIfAborted(options?.signal);
      const whenDone = this.#whenDone as Promise<void>;
      if (this.#done) return Promise.resolve();
      const signal = options?.signal;
      // Deadlock detection confirms a cycle through this event loop later, and then fails
      // the join through this controller (diagnostics/deadlock.ts).
      const guard = currentConfig().deadlockDetection ? new AbortController() : undefined;
      waitMode.abort = guard;
      try {
        return settleWithin<void>({
          // A join that cannot end early reacts to #whenDone; one that can waits in
          // #joinWaiters, from which it withdraws (see there).
          watch:
            deadline === Infinity && signal === undefined
              ? (settle) => void whenDone.then(settle)
              : (settle) => {
                  const ended = (): void => settle();
                  this.#joinWaiters.add(ended);
                  return () => this.#joinWaiters.delete(ended);
                },
          deadline,
          onTimeout: () => undefined,
          signal: guard === undefined ? signal : signal === undefined ? guard.signal : AbortSignal.any([signal, guard.signal]),
          // A pending join keeps the event loop alive, as a Python thread blocked in join()
          // keeps its process: even when the thread joined is a daemon (its carrier unref'd).
          keepAlive: true,
          site: this.#waitSite(),
        });
      } finally {
        waitMode.abort = undefined;
      }
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Blocks until the thread has finished or `timeout` elapsed. Not on the main thread: use `join()`. */
  joinSync(options?: { timeout?: number }): void {
    checkOptions(options, "Thread.joinSync()");
    const deadline = deadlineOf(options?.timeout, "Thread.joinSync()");
    this.#checkJoinable();
    assertMayBlock("Thread.joinSync()", "thread.join()", options);
    if (this.#done) return;
    runSync(this.#joining(deadline), this.#waitSite());
  }

  /** The blocking join: park on the control word until the thread has finished (true) or time ran out. */
  *#joining(deadline: number): Wait<boolean> {
    const control = this.#control as Int32Array;
    while (!this.#done) {
      if (Atomics.load(control, 0) === FINISHED) {
        // The carrier posted its report before it set FINISHED: take it now, since the
        // event loop that would deliver it may be the one this call blocks.
        this.#launched?.pump();
        if (this.#done) return true;
      }
      if ((yield park(control, 0, RUNNING, deadline)) === "timed-out" && Atomics.load(control, 0) !== FINISHED) return false;
    }
    return true;
  }

  #site: WaitSite | undefined;

  #waitSite(): WaitSite {
    return (this.#site ??= { kind: "join", target: this.#ident as number, label: this.#name });
  }

  #checkJoinable(): void {
    if (this.#ident === null) throw new RuntimeError("cannot join thread before it is started");
  }

  #finish(message: DoneMessage): void {
    this.#nativeId = message.nativeId;
    if (message.ok) this.#result = decode(message.result) as R;
    else this.#error = decodeError(message.error, `in thread "${this.#name}"`);
    this.#end(!message.ok);
  }

  #crash(error: Error, exitCode: number): void {
    this.#exitCode = exitCode;
    // A worker that exits without an error event was ended by process.exit(n) in the
    // thread: weft's sys.exit(n), which ends that thread only, quietly, whatever n (Python's
    // excepthook ignores SystemExit). Anything else (an uncaught exception from a timer, out
    // of memory) arrives as the worker's error: name the thread, as every error from a thread does.
    if (!(error instanceof WorkerCrashedError)) {
      this.#error = error;
      if (error instanceof Error) error.message = `${error.message} [in thread "${this.#name}"]`;
    }
    unregisterThread(this.#slot, this.#ident as number);
    this.#end(this.#error !== undefined);
  }

  #end(failed: boolean): void {
    this.#done = true;
    this.#launched = undefined;
    started.delete(this.#ident as number);
    if (failed && !quietThreads.has(this)) reportThreadException({ error: this.#error, thread: this });
    this.#resolveDone?.();
    // As a reaction on #whenDone would: after the joins that wait on it directly. (A join
    // that comes later finds #done set and adds nothing; each waiter leaves the set itself.)
    if (this.#joinWaiters.size > 0) {
      void this.#whenDone?.then(() => {
        for (const ended of this.#joinWaiters) ended();
      });
    }
  }

  /**
   * @internal `util.inspect(thread)`: Python's repr, `<Thread(worker-1, initial)>`,
   * `<Thread(worker-1, started daemon 7)>`, `<Thread(worker-1, stopped 7)>` (the number is the ident).
   */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    const started = this.#ident !== null;
    return threadRepr(this.constructor.name, this.#name, started, started && !this.isAlive(), this.#daemon, this.#ident);
  }

  /** @internal The exit code of the worker, if the thread ended with it (process.exit, a crash). */
  get _exitCode(): number | undefined {
    return this.#exitCode;
  }

  /**
   * @internal Calls `callback` once when the thread has ended (or at once, in a microtask, if
   * it has), without keeping the event loop alive as a pending `join()` does.
   */
  _onEnd(callback: () => void): void {
    if (this.#whenDone === undefined) throw new RuntimeError("cannot watch a thread before it is started");
    void this.#whenDone.then(callback);
  }
}

/** Every live thread, main thread first: `Thread` objects for those started here. */
export function enumerate(): ThreadHandle[] {
  return liveThreads().map(
    (record) => (record.main ? MAIN_THREAD : started.get(record.ident)) ?? new ThreadInfo(record.name, record.ident, record.nativeId, record.daemon, record.slot),
  );
}

/** How many threads are alive, the main thread included. */
export function activeCount(): number {
  return liveCount();
}
