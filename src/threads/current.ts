/**
 * What a thread knows of itself and of the main thread, in every thread.
 */
import { MAIN_FINISHED, currentIdent, homeIdent, isHomeThread, isMainThread as onProcessMainThread, worldCells } from "../core/identity.js";
import { RuntimeError } from "../core/errors.js";
import { checkOptions, deadlineOf, type WaitOptions } from "../core/timeouts.js";
import { park, runAsync, runSync, type Wait } from "../core/wait.js";
import { MAIN, isRegistered, registerThread } from "../core/thread-table.js";
import { threadRepr } from "../core/repr.js";

/** What can be asked of any thread, wherever it is seen from. */
export interface ThreadHandle {
  /** The thread's name; the main thread's is "MainThread". */
  readonly name: string;
  /** Unique among live threads; `null` before start. */
  readonly ident: number | null;
  /** The worker's thread id (0 for the main thread); `null` before start. */
  readonly nativeId: number | null;
  /** A daemon thread does not keep the process alive. */
  readonly daemon: boolean;
  /** True from `start()` until the target has returned or thrown. */
  isAlive(): boolean;
}

/** The main thread, as `mainThread()` gives it: a thread may join it, as in Python. */
export interface MainThreadHandle extends ThreadHandle {
  /** Resolves once the main program has finished; `RuntimeError` on the main thread itself. */
  join(options?: WaitOptions): Promise<void>;
  /** Blocks this thread until the main program has finished (or `timeout`). */
  joinSync(options?: { timeout?: number }): void;
}

/** A thread known from the shared table (another thread's view of it). */
export class ThreadInfo implements ThreadHandle {
  constructor(
    readonly name: string,
    readonly ident: number,
    readonly nativeId: number,
    readonly daemon: boolean,
    /** @internal */ readonly slot: number,
  ) {}

  isAlive(): boolean {
    return this.ident === homeIdent || isRegistered(this.slot, this.ident);
  }

  /** @internal `util.inspect(info)`: `<_MainThread(MainThread, started 1)>`, `<Thread(worker-1, started 7)>`, as Python. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return threadRepr(this.ident === homeIdent ? "_MainThread" : "Thread", this.name, true, !this.isAlive(), this.daemon, this.ident);
  }

  /**
   * Joins the main thread from another thread: returns once the main program has finished
   * (its code has run and its event loop has nothing left but threads), as Python's
   * `main_thread().join()`. Another thread is joined through its `Thread` object;
   * joining the current thread is a `RuntimeError`.
   */
  join(options?: WaitOptions): Promise<void> {
    try {
      checkOptions(options, "mainThread().join()");
      const deadline = deadlineOf(options?.timeout, "mainThread().join()");
      this.#checkJoinable();
      return runAsync(mainFinished(deadline), options?.signal, this.#site());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** {@link join}, blocking this thread. */
  joinSync(options?: { timeout?: number }): void {
    checkOptions(options, "mainThread().joinSync()");
    const deadline = deadlineOf(options?.timeout, "mainThread().joinSync()");
    this.#checkJoinable();
    runSync(mainFinished(deadline), this.#site());
  }

  #checkJoinable(): void {
    if (this.ident === currentIdent) throw new RuntimeError("cannot join current thread");
    if (this.ident !== homeIdent) throw new RuntimeError(`cannot join ${this.name} from here: join it through its Thread object`);
    if (!watchesMainEnd) {
      throw new RuntimeError("cannot join the main thread of a weft world whose home is a worker (vitest, piscina): its end is not observable");
    }
  }

  #site() {
    return { kind: "join", target: homeIdent, label: this.name } as const;
  }
}

/**
 * Whether this world's home is the process's main thread, whose program's end weft marks
 * (threads/carrier.ts); its ident is 1 (core/identity.ts).
 */
const watchesMainEnd = isHomeThread ? onProcessMainThread : homeIdent === 1;

/** Parks until the main program has finished, or `deadline`. */
function* mainFinished(deadline: number): Wait<void> {
  while (Atomics.load(worldCells, MAIN_FINISHED) === 0) {
    if ((yield park(worldCells, MAIN_FINISHED, 0, deadline)) === "timed-out") return;
  }
}

/** The main thread, as every thread sees it. */
export const MAIN_THREAD = new ThreadInfo("MainThread", homeIdent, 0, false, 0);

let current: ThreadHandle = MAIN_THREAD;

/** The thread running this code (Python's `threading.current_thread()`). */
export function currentThread(): ThreadHandle {
  return isHomeThread ? MAIN_THREAD : current;
}

/** The main thread (Python's `threading.main_thread()`). */
export function mainThread(): MainThreadHandle {
  return MAIN_THREAD;
}

/** The ident of the running thread (Python's `threading.get_ident()`). */
export function getIdent(): number {
  return currentIdent;
}

/** @internal Called by a carrier as it starts the next thread. */
export function setCurrentThread(handle: ThreadHandle): void {
  current = handle;
}

if (isHomeThread) registerThread(homeIdent, "MainThread", MAIN);
