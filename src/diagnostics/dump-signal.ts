/**
 * `configure({ dumpOnSignal: "SIGUSR2" })`: print the thread dump to stderr when the
 * process receives that signal (`kill -USR2 <pid>`), as a JVM does on SIGQUIT.
 *
 * Signals reach a Node process on its main thread's event loop, so the handler runs there
 * and only there: it runs while the main thread awaits (every weft wait there is async),
 * also when every other thread is blocked; it cannot run while the main thread itself is
 * blocked (a `*Sync` call allowed by `allowMainThreadBlocking`, or a busy loop). A worker
 * keeps the setting (threads inherit the main thread's) but installs nothing.
 */
import { onConfigure } from "../core/config.js";
import { isMainThread } from "../core/identity.js";
import { dumpThreads } from "./dump.js";

let installed: NodeJS.Signals | false = false;

function printDump(): void {
  process.stderr.write(dumpThreads());
}

onConfigure((config) => {
  if (!isMainThread || config.dumpOnSignal === installed) return;
  if (installed !== false) process.off(installed, printDump);
  installed = config.dumpOnSignal;
  if (installed !== false) process.on(installed, printDump);
});
