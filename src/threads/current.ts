/**
 * What a thread knows of itself and of the main thread, in every thread.
 */
import { currentIdent, homeIdent, isHomeThread } from "../core/identity.js";
import { RuntimeError } from "../core/errors.js";
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

  /** Joining is for the thread's starter (a `Thread`); joining the main thread from itself is an error. */
  join(): Promise<void> {
    return Promise.reject(
      new RuntimeError(this.ident === currentIdent ? "cannot join current thread" : `cannot join ${this.name} from here: join it through its Thread object`),
    );
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
export function mainThread(): ThreadHandle {
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
