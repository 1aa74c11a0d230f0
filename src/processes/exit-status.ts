/**
 * A child's end, read without the event loop: for `Process.joinSync()`, which blocks the
 * very event loop that would deliver the child's 'exit' event.
 *
 * An ended child stays a zombie until its parent reaps it, and on Linux the kernel shows
 * a zombie's wait status in /proc/PID/stat (field 52, `exit_code`, since Linux 3.5), so
 * the blocked thread polls it with a growing pause. The event loop reaps the child later
 * and delivers the same end through 'exit'.
 */
import { readFileSync } from "node:fs";
import { constants } from "node:os";

/** Whether this platform lets a blocked thread see a child's end (Linux's /proc). */
export const canWatchExitSync: boolean = process.platform === "linux";

/**
 * The child's exit code as `Process.exitCode` gives it (negative signal number if a
 * signal ended it), or `null` while it runs. `undefined`: no such process here any more
 * (reaped already: its 'exit' event has been delivered).
 */
export function exitStatusOf(pid: number): number | null | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return undefined;
  }
  // "pid (comm) state ...": comm may hold spaces and parentheses, so split after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).trim().split(" ");
  if (fields[0] !== "Z" && fields[0] !== "X") return null;
  const status = Number(fields[52 - 3]);
  if (!Number.isInteger(status)) return null;
  const signal = status & 0x7f;
  return signal !== 0 ? -signal : (status >> 8) & 0xff;
}

/** The negative signal number Python's `exitcode` gives a process a signal ended. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return -(constants.signals[signal] ?? 0);
}
