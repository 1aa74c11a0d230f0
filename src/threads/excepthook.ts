/**
 * What happens to an exception nobody catches in a thread (Python's `threading.excepthook`).
 * The hook runs in the thread that started the failed thread, before `join()` resolves.
 */
import type { ThreadHandle } from "./current.js";

/** What the excepthook receives. */
export interface ExceptHookArgs {
  readonly error: unknown;
  readonly thread: ThreadHandle;
}

/** An excepthook: receives the error and the thread it escaped from. */
export type ExceptHook = (args: ExceptHookArgs) => void;

/** Python's default: "Exception in thread NAME:" and the stack, on stderr. */
const defaultHook: ExceptHook = ({ error, thread }) => {
  const detail = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
  process.stderr.write(`Exception in thread ${thread.name}:\n${detail}\n`);
};

let hook: ExceptHook = defaultHook;

/** Sets the excepthook; `null` restores the default. */
export function setExcepthook(newHook: ExceptHook | null): void {
  if (newHook !== null && typeof newHook !== "function") {
    throw new TypeError(`setExcepthook(hook): expected a function or null, got ${typeof newHook}`);
  }
  hook = newHook ?? defaultHook;
}

/** Reports an uncaught thread exception; a hook that throws is reported by the default. */
export function reportThreadException(args: ExceptHookArgs): void {
  try {
    hook(args);
  } catch (hookError) {
    defaultHook({ error: hookError, thread: args.thread });
  }
}
