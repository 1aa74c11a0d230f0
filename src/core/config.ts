/**
 * Process-wide settings, set with `configure()`.
 *
 * Each thread holds its own copy: the main thread's settings are sent to every thread
 * when it starts (threads/thread.ts puts them in the run message, and the carrier applies
 * them before the target runs), and `configure()` called inside a thread changes that
 * thread only. The diagnostics subscribe with {@link onConfigure}, so that this module,
 * at the bottom of the import graph, need not know them.
 */

/** The hang watchdog's settings (see {@link WeftConfig.watchdog}). */
export interface WatchdogConfig {
  /** Report once no thread has made progress for this long (ms) while every thread waits. */
  readonly afterMs: number;
}

/** Settings accepted by {@link configure}. */
export interface WeftConfig {
  /** Let `*Sync` methods block the main thread instead of throwing `MainThreadBlockingError`. */
  allowMainThreadBlocking: boolean;
  /**
   * Look for a cycle of waits each time a thread is about to park on a Lock, an RLock or a
   * join, and throw `DeadlockError` in the thread that would close one. Default: on.
   */
  deadlockDetection: boolean;
  /**
   * Print `dumpThreads()` to stderr when the process receives this signal (e.g.
   * "SIGUSR2"); `false` for none (the default). Acts on the main thread only, whose event
   * loop must be free to run the handler (it is while it awaits).
   */
  dumpOnSignal: NodeJS.Signals | false;
  /**
   * Print the thread dump and the cycles of waits found once no thread has made progress
   * for `afterMs` while every thread is parked; `false` for no watchdog (the default).
   * Runs on the main thread only.
   */
  watchdog: WatchdogConfig | false;
}

/** What {@link configure} takes: any subset; `null` also turns `dumpOnSignal` and `watchdog` off. */
export type WeftConfigOptions = {
  [K in keyof WeftConfig]?: K extends "dumpOnSignal" | "watchdog" ? WeftConfig[K] | null : WeftConfig[K];
};

const settings: WeftConfig = {
  allowMainThreadBlocking: false,
  deadlockDetection: true,
  dumpOnSignal: false,
  watchdog: false,
};

const listeners: ((config: Readonly<WeftConfig>) => void)[] = [];

/** Changes weft's settings for this thread (and, from the main thread, threads started later). */
export function configure(options: WeftConfigOptions): void {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`configure(options): expected an object, got ${options === null ? "null" : typeof options}`);
  }
  const next: WeftConfig = { ...settings };
  for (const key of Object.keys(options) as (keyof WeftConfig)[]) {
    if (!(key in settings)) {
      throw new TypeError(`configure(options): unknown option "${String(key)}"; known: ${Object.keys(settings).join(", ")}`);
    }
    const value: unknown = options[key];
    if (key === "dumpOnSignal") next.dumpOnSignal = checkSignal(value);
    else if (key === "watchdog") next.watchdog = checkWatchdog(value);
    else if (typeof value !== "boolean") throw new TypeError(`configure(options): options.${key} must be a boolean, got ${typeof value}`);
    else next[key] = value;
  }
  // All checked first: a bad option changes nothing.
  Object.assign(settings, next);
  for (const listener of listeners) listener(settings);
}

function checkSignal(value: unknown): NodeJS.Signals | false {
  if (value === false || value === null || value === undefined) return false;
  if (typeof value !== "string" || !/^SIG[A-Z0-9]+$/.test(value)) {
    throw new TypeError(`configure(options): options.dumpOnSignal must be a signal name such as "SIGUSR2", or false; got ${describeValue(value)}`);
  }
  if (value === "SIGKILL" || value === "SIGSTOP") {
    throw new RangeError(`configure(options): options.dumpOnSignal cannot be ${value}: no process can handle it`);
  }
  return value as NodeJS.Signals;
}

function checkWatchdog(value: unknown): WatchdogConfig | false {
  if (value === false || value === null || value === undefined) return false;
  if (typeof value !== "object" || !("afterMs" in value)) {
    throw new TypeError(`configure(options): options.watchdog must be { afterMs: number } or false; got ${describeValue(value)}`);
  }
  const afterMs = (value as { afterMs: unknown }).afterMs;
  if (typeof afterMs !== "number" || !Number.isFinite(afterMs) || afterMs <= 0) {
    throw new RangeError(`configure(options): options.watchdog.afterMs must be a positive, finite number of milliseconds; got ${describeValue(afterMs)}`);
  }
  return Object.freeze({ afterMs });
}

function describeValue(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : value === null ? "null" : typeof value === "object" ? "an object" : String(value);
}

/** The live settings object; read, never written, outside this module. */
export function currentConfig(): Readonly<WeftConfig> {
  return settings;
}

/**
 * @internal Calls `listener` now and after every `configure()` in this thread: how the
 * diagnostics switch themselves on and off.
 */
export function onConfigure(listener: (config: Readonly<WeftConfig>) => void): void {
  listeners.push(listener);
  listener(settings);
}
