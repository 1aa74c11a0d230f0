/**
 * What every thread weft runs loads before the thread's target: each kind of shared object
 * (importing its class registers how it revives, so arguments and queue items arrive
 * live), and the diagnostics that switch themselves on with `configure()` (the wait
 * recorder and deadlock detector, the dump on a signal, the hang watchdog's service).
 *
 * Why a carrier loads this and not the whole package: a new worker compiles every module
 * it imports, and the executors, processes and cluster modules are a third of the
 * package's import time; a target that uses them imports the package itself.
 */
import "./sync/lock.js";
import "./sync/rlock.js";
import "./sync/condition.js";
import "./sync/semaphore.js";
import "./sync/event.js";
import "./sync/barrier.js";
import "./shared/shared-value.js";
import "./shared/shared-array.js";
import "./queue/queue.js";
import "./processes/shared-proxy.js";
import "./diagnostics/deadlock.js";
import "./diagnostics/dump-signal.js";
import "./diagnostics/watchdog.js";
