/**
 * A thread's output goes straight to the process's stdout and stderr, synchronously.
 *
 * Node pipes a worker's `process.stdout` through the main thread's event loop, so a
 * thread's last lines could surface after its `join()` resolved, or never if the main
 * thread is blocked. Writing to file descriptors 1 and 2 from the thread itself keeps
 * Python's order: what a thread printed is out before anyone learns it finished.
 */
import { writeSync } from "node:fs";

const pause = new Int32Array(new SharedArrayBuffer(4));

function writeAll(fd: number, data: Uint8Array): void {
  let offset = 0;
  while (offset < data.length) {
    try {
      offset += writeSync(fd, data, offset, data.length - offset);
    } catch (error) {
      // stdout may be a non-blocking pipe that is full: wait a moment for the reader.
      if ((error as NodeJS.ErrnoException).code !== "EAGAIN") throw error;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

type WriteCallback = (error?: Error | null) => void;

function redirect(stream: NodeJS.WriteStream, fd: number): void {
  const encoder = new TextEncoder();
  stream.write = ((chunk: string | Uint8Array, encodingOrCallback?: BufferEncoding | WriteCallback, callback?: WriteCallback) => {
    const done = typeof encodingOrCallback === "function" ? encodingOrCallback : callback;
    const encoding = typeof encodingOrCallback === "string" ? encodingOrCallback : undefined;
    try {
      const data =
        typeof chunk === "string" ? (encoding && encoding !== "utf8" && encoding !== "utf-8" ? Buffer.from(chunk, encoding) : encoder.encode(chunk)) : chunk;
      writeAll(fd, data);
      if (done) queueMicrotask(() => done(null));
    } catch (error) {
      if (done) queueMicrotask(() => done(error as Error));
    }
    return true;
  }) as NodeJS.WriteStream["write"];
}

/** Sends this worker's stdout and stderr straight to the process's file descriptors. */
export function writeStdioDirectly(): void {
  redirect(process.stdout, 1);
  redirect(process.stderr, 2);
}
