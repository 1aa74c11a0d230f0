/** poolifier worker file: a ThreadWorker with one named task function per benchmark, called by `execute(data, name)`. */
import { ThreadWorker } from "poolifier";
import { burn, inc, mapChunk } from "./tasks.js";

// poolifier types every task function of a worker as `(data?: Data) => Response`, one Data
// for all, while these take a number or an array: a narrow type for the registration.
type Task = (data?: unknown) => unknown;

export default new ThreadWorker<unknown, unknown>({ inc: inc as Task, burn: burn as Task, mapChunk: mapChunk as Task });
