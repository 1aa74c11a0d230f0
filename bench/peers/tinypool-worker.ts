/** tinypool worker file: an ESM module whose named exports tinypool calls by `run(arg, { name })`. */
export { inc, burn, mapChunk } from "./tasks.js";
