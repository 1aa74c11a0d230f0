// Scenario 4a: weft inside a raw `new Worker(...)`.
import { Worker } from "node:worker_threads";

const worker = new Worker(new URL("./worker.mjs", import.meta.url));
worker.on("message", (message) => console.log(`WORKER ${JSON.stringify(message)}`));
worker.on("error", (error) => {
  console.log(`WORKER_ERROR ${JSON.stringify(String(error?.stack ?? error))}`);
  process.exitCode = 1;
});
worker.on("exit", (code) => console.log(`WORKER_EXIT ${code}`));
