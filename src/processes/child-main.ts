/**
 * The entry point of a Process's child: it boots, says `ready`, runs the one target its
 * parent sends, and exits.
 *
 * Before the target's module is imported, the child takes on its name (currentProcess()),
 * its parent's working directory and environment, and `isMainThread` reads false here
 * (core/identity.ts), so the module's guarded top level does not run again: weft's form of
 * Python's `if __name__ == "__main__":`. A module whose unguarded top level starts a
 * Process is refused by `Process.start()` while the child imports it (bootstrapping).
 *
 * A target that throws exits the child with code 1 after printing "Process NAME:" and the
 * stack on stderr, as Python's `Process._bootstrap` does. The child exits when its parent
 * goes away (its IPC channel disconnects), even if the parent was killed with SIGKILL.
 */
import { serialize } from "node:v8";
import { configure } from "../core/config.js";
import { CHILD_PROCESS_MARK } from "../core/identity.js";
import { closureHint, resolveTarget } from "../transport/target.js";
import "../index.js"; // registers every kind of object that may arrive
import { enterChildProcess } from "./current.js";
import { noteExitCode } from "./exit-note.js";
import { decodeFromParent } from "./process-args.js";
import type { ReadyMessage, RunMessage } from "./protocol.js";

delete process.env[CHILD_PROCESS_MARK];
// The child's main thread exists to run its target, as a Python child's does: the blocking
// forms (recvSync, joinSync, acquireSync) are allowed on it.
configure({ allowMainThreadBlocking: true });

// child-boot.cts watches for the parent's end; one that came before it could is seen here.
if (!process.connected) process.exit(1);

// The `run` that came while this module loaded (child-boot.cts kept it), or the one to come.
const early = (globalThis as Record<symbol, { take(): unknown[] } | undefined>)[Symbol.for("weft.earlyMessages")]?.take() ?? [];
if (early.length > 0) void run(early[0] as RunMessage);
else {
  process.once("message", (message: RunMessage) => void run(message));
  // While it waits, the spare runs the paths every run takes once, so that V8 has compiled
  // them before a target comes (in a cold child they cost ~0.6 ms of a ~3 ms start+join).
  setImmediate(() => {
    try {
      decodeFromParent(serialize([]));
      void resolveTarget({ kind: "source", source: "() => {}", name: "" }).catch(() => {});
    } catch {
      // Only a warm-up.
    }
  });
}
// (A parent already gone makes the send fail: the disconnect above ends this child.)
if (process.connected) process.send?.({ type: "ready" } satisfies ReadyMessage, undefined, {}, () => {});

async function run(message: RunMessage): Promise<void> {
  noteExitCode();
  enterChildProcess(message.name, message.daemon, message.identity, message.parentName);
  adoptEnvironment(message);
  try {
    const args = decodeFromParent(message.args) as unknown[];
    const target = await resolveTarget(message.target);
    await target(...args);
  } catch (error) {
    const hint = closureHint(error, message.target);
    if (hint !== undefined && error instanceof Error) error.message = `${error.message}. ${hint}`;
    const detail = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
    process.stderr.write(`Process ${message.name}:\n${detail}\n`);
    process.exitCode = 1;
  }
  // The target is done: the child ends once what the target left running has ended (its
  // non-daemon threads and processes, pending output), still watching for its parent.
  (process.channel as { unref?(): void } | undefined)?.unref?.();
}

function adoptEnvironment(message: RunMessage): void {
  try {
    process.chdir(message.cwd);
  } catch {
    // The parent's directory is gone or out of reach: stay where the child started.
  }
  const env = message.env;
  if (env === undefined) return; // the one this child was spawned with
  for (const key of Object.keys(process.env)) if (!(key in env)) delete process.env[key];
  for (const [key, value] of Object.entries(env)) if (value !== undefined) process.env[key] = value;
}
