/**
 * What a parent and a child process say to each other over the child's IPC channel
 * (Node's `fork` channel, with `serialization: "advanced"`).
 *
 * A child boots, runs no user code, and says `ready`; its parent then sends one `run`.
 * Nothing else crosses the channel: the child's output goes to the inherited stdout and
 * stderr, its end is its exit code, and Pipe traffic travels on a socket of its own
 * (link.ts).
 */
import type { TargetDescriptor } from "../transport/target.js";

/** The child has booted and waits for its target. */
export interface ReadyMessage {
  readonly type: "ready";
}

/** The one task of a child: run `target(...args)` as process `name`. */
export interface RunMessage {
  readonly type: "run";
  readonly target: TargetDescriptor;
  /** The arguments, `v8.serialize`d at `start()` (so that what cannot be sent fails there). */
  readonly args: Uint8Array;
  readonly name: string;
  readonly daemon: boolean;
  /** Python's `_identity`: the child numbers of each generation, e.g. [1, 2] for "Process-1:2". */
  readonly identity: readonly number[];
  /** The parent's name and pid, for `parentProcess()`. */
  readonly parentName: string;
  /**
   * The parent's working directory and environment at `start()`, which the child takes on;
   * `env` is left out when it is the one the child was spawned with (setting every variable
   * again costs a cold child ~0.3 ms).
   */
  readonly cwd: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** What a parent hears from a child. */
export type ChildMessage = ReadyMessage;
