/**
 * What a thread finishes before it reports its end, so that whoever joins it sees all it
 * did. A layer above the thread runner registers here (a process-shared object's channel,
 * processes/shared-channel.ts, waits for the calls it pipelined to its owner to have run),
 * since the runner (threads/carrier-main.ts) knows nothing of those layers.
 */
const hooks: (() => void)[] = [];

/** Runs `hook` in this thread at the end of each thread it carries (once per hook). */
export function beforeThreadEnd(hook: () => void): void {
  if (!hooks.includes(hook)) hooks.push(hook);
}

/** Called by the thread runner when a thread's target has ended, before its end is reported. */
export function runThreadEndHooks(): void {
  for (const hook of hooks) {
    try {
      hook();
    } catch {
      // A hook's failure (an owner process gone) is not the thread's outcome.
    }
  }
}
