/**
 * The owner's side of process-shared objects: the server that lets other processes use
 * the objects this process made (Python's `multiprocessing.Manager` server).
 *
 * The server is a private directory, `weft-<pid>-<heap id>` in `os.tmpdir()` (mode 0700),
 * made on the first export from any thread of this weft world. It holds one FIFO,
 * `accept`, that this process keeps open for reading from the start. A client thread (in
 * another process) that first calls into an object here takes a directory of four FIFOs
 * there (made ahead, or made by itself: see STOCK; shared-channel.ts says what each is
 * for) and writes their names to `accept` as one line (writes of up to PIPE_BUF bytes are
 * atomic, so lines from many clients never mix). For each line the
 * acceptor, a daemon thread, starts an *agent*: a daemon weft thread that serves that one
 * client thread (manager-agent.ts).
 *
 * One agent per client thread, as Python's server runs a thread per connection, and for
 * the same reason: the agent's ident is the client thread's identity here. A Lock or an
 * RLock taken by a client thread is held by its agent, so re-entrance, ownership checks
 * and owner death all work as between threads: when the client process dies, its FIFO
 * reaches end-of-file, the agent aborts what it still waits for and ends, and a lock it
 * held is then taken over by the next acquirer with LockOwnerDiedError, as after a thread's
 * death.
 */
import { execFileSync, spawn } from "node:child_process";
import { constants, mkdirSync, mkdtempSync, openSync, readdirSync, renameSync, rmSync } from "node:fs";
import { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { heapId } from "../core/memory.js";
import { isHomeThread } from "../core/identity.js";
import { Thread } from "../threads/thread.js";

/** What a client writes to `accept`, as one JSON line. */
export interface Registration {
  readonly pid: number;
  /** The client thread's ident in its process (for names in dumps). */
  readonly thread: number;
  /** FIFO paths: requests (client to agent), sync replies, async replies, acknowledgements (client to agent). */
  readonly req: string;
  readonly srep: string;
  readonly arep: string;
  readonly ack: string;
  /** The client's directory the FIFOs are in: removed when the agent ends. */
  readonly dir: string;
  /** The directory was a stock set (which the acceptor then makes again). */
  readonly fromStock: boolean;
}

/** A client's four FIFO paths. */
export type FifoPaths = Pick<Registration, "req" | "srep" | "arep" | "ack">;

/** `mkfifo`'s arguments for `paths`: private FIFOs (Node has no call that makes one). */
function mkfifoArgs(...paths: string[]): string[] {
  return ["-m", "600", ...paths];
}

/**
 * FIFO sets made ahead, so that a client's first call does not wait for a `mkfifo`
 * process (~5 ms here, most of a first call): the acceptor keeps STOCK directories
 * `stock-<n>/` in the server directory, each holding `req srep arep ack`, and makes a new
 * one for each it hands out. A client claims one by renaming it (atomic: of two clients,
 * one wins); with none left it makes its own FIFOs.
 */
const STOCK = 2;

/** How long after a client took a stock set the acceptor makes the next (ms). */
const RESTOCK_DELAY_MS = 50;

function fifosIn(dir: string): FifoPaths {
  return { req: join(dir, "req"), srep: join(dir, "srep"), arep: join(dir, "arep"), ack: join(dir, "ack") };
}

/** Makes a client's FIFOs in a new directory `dir`, now (a `mkfifo` process: ~5 ms). */
export function makeFifos(dir: string): FifoPaths {
  mkdirSync(dir, { mode: 0o700 });
  const paths = fifosIn(dir);
  execFileSync("mkfifo", mkfifoArgs(paths.req, paths.srep, paths.arep, paths.ack));
  return paths;
}

/** Claims a stock set of the server at `dir` as the directory `into`; `undefined` if none is left. */
export function claimFifos(dir: string, into: string): FifoPaths | undefined {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return undefined;
  }
  for (const name of names) {
    if (!name.startsWith("stock-")) continue;
    try {
      renameSync(join(dir, name), into);
      return fifosIn(into);
    } catch {
      // Another client took it first.
    }
  }
  return undefined;
}

let stocked = 0;

/** Makes one stock set, in the background: made aside, then renamed into place complete. */
function restock(dir: string): void {
  const n = ++stocked;
  const staging = join(dir, `making-${n}`);
  try {
    mkdirSync(staging, { mode: 0o700 });
  } catch {
    return;
  }
  const paths = fifosIn(staging);
  const maker = spawn("mkfifo", mkfifoArgs(paths.req, paths.srep, paths.arep, paths.ack), { stdio: "ignore" });
  maker.on("error", () => rmSync(staging, { recursive: true, force: true }));
  maker.on("exit", (code) => {
    try {
      if (code === 0) renameSync(staging, join(dir, `stock-${n}`));
      else rmSync(staging, { recursive: true, force: true });
    } catch {
      // The server directory is gone (this process is exiting).
    }
  });
  maker.unref();
}

let address: string | undefined;

/** The FIFO every client registers through. */
export function acceptPath(dir: string): string {
  return join(dir, "accept");
}

/**
 * This process's server address; made (and its acceptor started) on first use unless
 * `start` is false, when it is `undefined` if no thread of this world has made it yet.
 */
export function serverAddress(start?: true): string;
export function serverAddress(start: false): string | undefined;
export function serverAddress(start = true): string | undefined {
  if (address !== undefined || !start) return address;
  const dir = join(tmpdir(), `weft-${process.pid}-${(heapId() >>> 0).toString(36)}`);
  // Made aside and renamed into place, so that the directory exists complete or not at
  // all; among threads of this world exporting at once, one rename wins.
  const staging = mkdtempSync(join(tmpdir(), "weft-new-"));
  let won = false;
  try {
    execFileSync("mkfifo", mkfifoArgs(acceptPath(staging)));
    renameSync(staging, dir);
    won = true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "ENOTEMPTY" && code !== "EEXIST") throw error;
  } finally {
    if (!won) rmSync(staging, { recursive: true, force: true });
  }
  if (won) startAcceptor(dir);
  address = dir;
  return dir;
}

function startAcceptor(dir: string): void {
  // Open for reading at once (O_RDWR: never end-of-file, never blocks), so that clients
  // can register before the acceptor thread runs; the descriptor is the process's.
  const fd = openSync(acceptPath(dir), constants.O_RDWR | constants.O_NONBLOCK);
  const acceptor = new Thread({
    target: { module: import.meta.url, export: "acceptClients" },
    args: [fd, dir],
    name: "weft-shared-acceptor",
    daemon: true,
  });
  acceptor.start();
  if (isHomeThread) process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
}

/** The acceptor thread: starts an agent for each registration line. Never returns. */
export function acceptClients(fd: number, dir: string): Promise<never> {
  for (let i = 0; i < STOCK; i++) restock(dir);
  const socket = new Socket({ fd, readable: true, writable: false });
  let buffered = "";
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => {
    buffered += chunk;
    for (let end = buffered.indexOf("\n"); end >= 0; end = buffered.indexOf("\n")) {
      const line = buffered.slice(0, end);
      buffered = buffered.slice(end + 1);
      try {
        const registration = JSON.parse(line) as Registration;
        startAgent(registration);
        // Later, not now: a spawn forks this process, which stalls its other threads (the
        // new agent among them) while the kernel copies the address space.
        if (registration.fromStock === true) setTimeout(() => restock(dir), RESTOCK_DELAY_MS).unref();
      } catch (error) {
        process.emitWarning(`weft: a process-shared object's client could not be served: ${String(error)}`);
      }
    }
  });
  return new Promise<never>(() => {
    // Serves for as long as the process lives (a daemon thread: it does not hold the process).
  });
}

function startAgent(registration: Registration): void {
  const agent = new Thread({
    target: { module: new URL("./manager-agent.js", import.meta.url).href, export: "serveClient" },
    args: [registration],
    name: `weft-shared-agent (pid ${registration.pid}, thread ${registration.thread})`,
    daemon: true,
  });
  agent.start();
}
