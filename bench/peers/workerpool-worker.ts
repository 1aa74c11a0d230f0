/** workerpool worker file: registers the methods that `pool.exec(name, [arg])` calls. */
import workerpool from "workerpool";
import { burn, inc, mapChunk } from "./tasks.js";

workerpool.worker({ inc, burn, mapChunk });
