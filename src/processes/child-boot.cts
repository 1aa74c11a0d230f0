/**
 * Preloaded (`--require`) into a Process's child, before its entry module loads: keeps the
 * messages that arrive while the entry's modules are still loading.
 *
 * An ES module entry loads asynchronously, so the IPC channel may deliver the parent's
 * `run` before child-main.js has a listener, and Node drops a message nobody listens
 * for. A CommonJS preload runs synchronously before the event loop first turns, so its
 * listener is in place before anything can arrive; the parent may then send `run` at
 * once, without waiting for `ready` (which a parent blocked in `joinSync()` never reads).
 */
// The parent went away (exited, crashed, was killed): so does this child, at once. Watched
// from here, the earliest point, so that a parent killed while this child boots is seen too.
process.on("disconnect", () => process.exit(1));

const early: unknown[] = [];
const keep = (message: unknown): void => void early.push(message);
process.on("message", keep);
(globalThis as Record<symbol, unknown>)[Symbol.for("weft.earlyMessages")] = {
  take(): unknown[] {
    process.off("message", keep);
    return early;
  },
};
