/** piscina worker file: an ESM module whose named exports piscina calls by `run(arg, { name })`. */
export { inc, burn, mapChunk } from "./tasks.js";
