/**
 * local: Python's `threading.local`, a value of which each thread sees its own.
 *
 * Every weft thread runs in an isolate of its own, so a `local` (made at a module's top
 * level, say) is already apart from other threads' copies of that module. What is left is
 * time: a carrier runs threads one after another, and its modules stay loaded, so a later
 * thread on the same carrier would find an earlier one's value. So the value is stamped with
 * the ident of the thread that owns it (idents are never reused in a process), and a thread
 * whose ident differs sees no value: the earlier thread's is dropped then, and `init`, if
 * given, makes this thread's. An isolate runs one thread at a time, so one stamped value
 * is all a `local` ever needs to hold; an ended thread's value is dropped, at the latest,
 * when the next thread on that carrier touches the `local`.
 */
import { RuntimeError } from "../core/errors.js";
import { currentIdent } from "../core/identity.js";
import { repr } from "../core/repr.js";

/** No thread: idents count from 1. */
const NOBODY = 0;

/** A value per thread (Python's `threading.local`); made by {@link local}. */
export class Local<T> {
  readonly #init: (() => T) | undefined;
  /** The ident of the thread `#value` belongs to. */
  #owner = NOBODY;
  #value: T | undefined = undefined;
  /** The thread running `init` now, to refuse an `init` that reads the value it makes. */
  #initializing = NOBODY;

  /** @internal Use {@link local}. */
  constructor(init?: () => T) {
    if (init !== undefined && typeof init !== "function") {
      throw new TypeError(`local(init?): init must be a function returning a thread's initial value, got ${init === null ? "null" : typeof init}`);
    }
    this.#init = init;
  }

  /**
   * This thread's value. Before this thread set one: `init()`'s result (called once per
   * thread, at the first read), or `undefined` without `init`.
   */
  get value(): T {
    if (this.#owner === currentIdent) return this.#value as T;
    return this.#initialize();
  }
  set value(value: T) {
    this.#owner = currentIdent;
    this.#value = value;
  }

  #initialize(): T {
    // Another thread's value (one that ran earlier on this worker): not this thread's to see.
    this.#owner = NOBODY;
    this.#value = undefined;
    const init = this.#init;
    if (init === undefined) return undefined as T;
    if (this.#initializing === currentIdent) throw new RuntimeError("local(init): init read the value it is making (local.value inside init)");
    this.#initializing = currentIdent;
    try {
      const value = init();
      this.#owner = currentIdent;
      this.#value = value;
      return value;
    } finally {
      this.#initializing = NOBODY;
    }
  }

  /** @internal `util.inspect(l)`: `<local>`, or `<local unset>` before this thread has a value. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return repr("local", this.#owner === currentIdent ? "" : "unset");
  }
}

/**
 * Python's `threading.local()`: an object whose `value` each thread sees its own of. With
 * `init`, a thread's first read of `value` gets `init()`'s result (called lazily, once per
 * thread); without, `undefined` until the thread sets it.
 *
 * Keep it in a module (the module of a module target, say): each thread that imports the
 * module reaches it there. A `local` itself is not sent to threads.
 */
export function local<T>(init: () => T): Local<T>;
export function local<T = unknown>(): Local<T | undefined>;
export function local<T>(init?: () => T): Local<T> | Local<T | undefined> {
  return new Local<T>(init);
}
