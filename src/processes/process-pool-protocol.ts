/**
 * What a ProcessPoolExecutor and its child processes say to each other.
 *
 * Down, over the IPC channel (`serialization: "advanced"`), one message per batch of tasks:
 *
 *   [TASKS, flat, targets?]  flat: for each task, target index, chunking, argument count,
 *                            then the arguments, all in one array (an array per task costs
 *                            V8's serializer twice as much); targets: [index, descriptor]
 *                            pairs the child has not been told of yet
 *   [SETUP, ChildSetup]      first message: name, initializer, task quota
 *
 * Up, over a pipe of its own (the child's fd 3), written with one blocking `writeSync` per
 * frame: a frame is [u32 payload length][u8 kind][u32 busy µs][payload]. A child writes the
 * results of a batch as one RESULTS frame (a V8-serialized flat array of status, value
 * pairs, in task order) once it has run the batch, before it starts the next one, and before
 * it awaits a task that returned a promise. A write is synchronous, so what the child wrote
 * reaches the parent even if the child is killed a moment later, and the parent can tell
 * which tasks a dead child had started (see ProcessPoolExecutor's crash handling):
 *
 *   RESULTS  the outcomes of the tasks that follow the last ones reported
 *   READY    the initializer has run (or there was none): a death from now on is a crash
 *   BROKEN   the initializer threw: the payload is the encoded error
 *   DIED     the child is exiting by itself (`process.exit()` in a task, an uncaught error):
 *            written in its exit handler, after the results it had; the payload says whether
 *            a task was running, and the uncaught error if there was one
 *
 * The parent does not wait for a child's answer before sending more: a child keeps a
 * window of batches queued, so that it never waits for a round trip between two tasks.
 */
import type { TargetDescriptor } from "../transport/target.js";
import type { EncodedError } from "../transport/errors.js";

export const TASKS = 1;
export const SETUP = 2;

export const RESULTS = 1;
export const READY = 2;
export const BROKEN = 3;
export const DIED = 4;

/** A task's outcome status in a RESULTS frame. */
export const OK = 1;
export const FAILED = 0;

/** The child's end of the results pipe. */
export const RESULTS_FD = 3;

/** Bytes before a frame's payload: length, kind, busy time. */
export const FRAME_HEADER = 9;

/** A batch of tasks, down the IPC channel. */
export type TasksMessage = [typeof TASKS, unknown[], [number, TargetDescriptor][] | undefined];
export type SetupMessage = [typeof SETUP, ChildSetup];
export type DownMessage = TasksMessage | SetupMessage;

/** How a child is set up. */
export interface ChildSetup {
  /** The worker's name, also its process title. */
  readonly name: string;
  readonly initializer: TargetDescriptor | null;
  readonly initargs: unknown[];
  /** The child leaves once it has run this many tasks (the parent never sends it more). */
  readonly maxTasks: number;
}

/** A DIED frame's payload. */
export interface DeathNote {
  /** A task was running when the child exited: it is the first task not reported. */
  readonly running: boolean;
  readonly code: number;
  readonly error: EncodedError | undefined;
}
