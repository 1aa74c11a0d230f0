/**
 * What a process knows of itself and of its parent: Python's `current_process()` and
 * `parent_process()`, and the numbering of its children ("Process-1", "Process-1:2").
 */
import { kill } from "node:process";

/** What can be asked of any process, wherever it is seen from. */
export interface ProcessHandle {
  /** The process's name; the main program's is "MainProcess". */
  readonly name: string;
  /** The OS process id; `null` before start. */
  readonly pid: number | null;
  /** A daemon process is terminated when its parent exits, and may not start processes. */
  readonly daemon: boolean;
  /** True while the process runs. */
  isAlive(): boolean;
}

/** A process seen from inside itself, or a child's view of its parent. */
export class ProcessInfo implements ProcessHandle {
  constructor(
    readonly name: string,
    readonly pid: number,
    readonly daemon: boolean,
    /** @internal Python's `_identity`: the child numbers of each generation. */
    readonly identity: readonly number[],
  ) {}

  isAlive(): boolean {
    if (this.pid === process.pid) return true;
    // The parent: alive while this process is still its child (a dead parent's children
    // are handed to another, so the parent pid changes).
    if (this.pid !== process.ppid) return false;
    try {
      kill(this.pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  /** @internal `util.inspect(info)`: `<_MainProcess name='MainProcess' parent=None started>`, as Python's repr. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `<${this.identity.length === 0 ? "_MainProcess" : "Process"} name='${this.name}' pid=${this.pid}${this.daemon ? " daemon" : ""} started>`;
  }
}

let current = new ProcessInfo("MainProcess", process.pid, false, []);
let parent: ProcessInfo | null = null;
let childCount = 0;

/** The process running this code (Python's `multiprocessing.current_process()`). */
export function currentProcess(): ProcessHandle {
  return current;
}

/** The process that started this one, or `null` in the main program (Python's `parent_process()`). */
export function parentProcess(): ProcessHandle | null {
  return parent;
}

/** @internal A child's entry installs who it is, before the target's module is imported. */
export function enterChildProcess(name: string, daemon: boolean, identity: readonly number[], parentName: string): void {
  current = new ProcessInfo(name, process.pid, daemon, identity);
  parent = new ProcessInfo(parentName, process.ppid, false, identity.slice(0, -1));
}

/** @internal The identity of this process's next child: its own, plus the child's number. */
export function nextChildIdentity(): number[] {
  return [...(current as ProcessInfo).identity, ++childCount];
}
