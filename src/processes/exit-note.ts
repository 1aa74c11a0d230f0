/**
 * A child's last word: the code it exits with, written on its note descriptor by its last
 * `'exit'` listener, when no code of the child is left to run. Its parent's `join()`
 * resolves on the note rather than on the OS's report of the exit, which comes only after
 * Node's and the kernel's teardown of the process: 16–35 ms for a Node child here, more
 * than a whole start+join of a forked Python child (BENCHMARKS.md).
 *
 * The note is written only by the listener that runs last, so that what other listeners
 * print is out and the code they may set is final. One added later is followed by the note
 * again on the next tick; where the note cannot be last (a listener added during the exit,
 * or just before a synchronous `process.exit()`), it stays unwritten and the parent waits
 * for the OS's report, as it does when a signal ends the child.
 */
import { writeSync } from "node:fs";
import { confirmPosted } from "./shared-channel.js";

/** The child's descriptor for the note (stdio index 5 of its spawn). */
export const NOTE_FD = 5;

/** In the child: writes the exit code on NOTE_FD at exit. */
export function noteExitCode(): void {
  const note = (code: number): void => {
    const listeners = process.listeners("exit");
    if (listeners[listeners.length - 1] !== note) return;
    // What the child pipelined to owners (a lock's release, a put) has run before it says
    // it has ended: its parent's join() then finds it done.
    confirmPosted();
    const set = process.exitCode;
    const final = set === undefined || set === null ? code : Number(set);
    if (!Number.isInteger(final)) return;
    try {
      writeSync(NOTE_FD, `${final & 0xff}\n`);
    } catch {
      // The parent has gone: nobody waits for the note.
    }
  };
  process.on("exit", note);
  process.on("newListener", (event: string | symbol, listener: unknown) => {
    if (event !== "exit" || listener === note) return;
    process.removeListener("exit", note);
    process.nextTick(() => {
      if (!process.listeners("exit").includes(note)) process.on("exit", note);
    });
  });
}

/** In the parent: calls `noted` with the code once the child's note arrives on `socket`. */
export function readExitNote(socket: NodeJS.ReadableStream, noted: (code: number) => void): void {
  let text = "";
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => {
    text += chunk;
    const end = text.indexOf("\n");
    if (end >= 0) noted(Number(text.slice(0, end)));
  });
  socket.on("error", () => {});
}
