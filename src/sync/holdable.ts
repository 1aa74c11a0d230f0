/**
 * What every primitive that can be held shares: Python's `with lock:` as `withLock(fn)` /
 * `withLockSync(fn)`, and guards for `using` / `await using` from `hold()` / `holdSync()`.
 * Subclasses supply only acquire, acquireSync and release.
 */
import type { AcquireOptions } from "../core/timeouts.js";
import { TimeoutError } from "../core/errors.js";

/** Releases what it guards when disposed, once; `using g = lock.holdSync()`. */
export interface HeldGuard extends Disposable, AsyncDisposable {
  /** Releases now (a second call, or disposal afterwards, does nothing). */
  release(): void;
}

/** A primitive that can be acquired and released, from any thread. */
export abstract class Holdable {
  /** Acquires without blocking the event loop; resolves `false` on timeout or `blocking: false` failure. */
  abstract acquire(options?: AcquireOptions): Promise<boolean>;
  /** Acquires, blocking this thread; returns `false` on timeout or `blocking: false` failure. */
  abstract acquireSync(options?: AcquireOptions): boolean;
  /** Releases what `acquire` took. */
  abstract release(): void;

  /** Runs `fn` while holding this primitive (Python's `with lock:`); releases even if it throws. */
  async withLock<T>(fn: () => T | PromiseLike<T>, options?: Omit<AcquireOptions, "blocking">): Promise<T> {
    await acquireOrThrow(this, options);
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /** Runs `fn` while holding this primitive, blocking this thread to acquire it. */
  withLockSync<T>(fn: () => T, options?: Omit<AcquireOptions, "blocking">): T {
    if (!this.acquireSync(options)) throw timedOut(this);
    try {
      return fn();
    } finally {
      this.release();
    }
  }

  /** Acquires and returns a guard for `await using`: `await using _ = await lock.hold()`. */
  async hold(options?: Omit<AcquireOptions, "blocking">): Promise<HeldGuard> {
    await acquireOrThrow(this, options);
    return guard(() => this.release());
  }

  /** Acquires, blocking this thread, and returns a guard for `using`: `using _ = lock.holdSync()`. */
  holdSync(options?: Omit<AcquireOptions, "blocking">): HeldGuard {
    if (!this.acquireSync(options)) throw timedOut(this);
    return guard(() => this.release());
  }
}

/**
 * Not a private method: these methods also serve process-shared proxies, which inherit them
 * from the class's prototype without being built by its constructor (processes/shared-proxy.ts).
 */
async function acquireOrThrow(holdable: Holdable, options: AcquireOptions | undefined): Promise<void> {
  if (!(await holdable.acquire(options))) throw timedOut(holdable);
}

function timedOut(what: object): TimeoutError {
  return new TimeoutError(`${what.constructor.name}: timed out waiting to acquire (options.timeout elapsed)`);
}

function guard(release: () => void): HeldGuard {
  let held = true;
  const releaseOnce = (): void => {
    if (held) {
      held = false;
      release();
    }
  };
  return {
    release: releaseOnce,
    [Symbol.dispose]: releaseOnce,
    [Symbol.asyncDispose]: async () => releaseOnce(),
  };
}
