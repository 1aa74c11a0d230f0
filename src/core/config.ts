/**
 * Process-wide settings, set with `configure()`.
 *
 * Each thread holds its own copy: the main thread's settings are sent to every thread
 * when it starts, and `configure()` called inside a thread changes that thread only.
 */

/** Settings accepted by {@link configure}. */
export interface WeftConfig {
  /** Let `*Sync` methods block the main thread instead of throwing `MainThreadBlockingError`. */
  allowMainThreadBlocking: boolean;
  /** Reserved for deadlock detection (a later release); accepted and stored. */
  deadlockDetection: boolean;
}

const settings: WeftConfig = {
  allowMainThreadBlocking: false,
  deadlockDetection: false,
};

/** Changes weft's settings for this thread (and, from the main thread, threads started later). */
export function configure(options: Partial<WeftConfig>): void {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`configure(options): expected an object, got ${options === null ? "null" : typeof options}`);
  }
  for (const key of Object.keys(options) as (keyof WeftConfig)[]) {
    if (!(key in settings)) {
      throw new TypeError(`configure(options): unknown option "${String(key)}"; known: ${Object.keys(settings).join(", ")}`);
    }
    const value = options[key];
    if (typeof value !== "boolean") {
      throw new TypeError(`configure(options): options.${key} must be a boolean, got ${typeof value}`);
    }
    settings[key] = value;
  }
}

/** The live settings object; read, never written, outside this module. */
export function currentConfig(): Readonly<WeftConfig> {
  return settings;
}
