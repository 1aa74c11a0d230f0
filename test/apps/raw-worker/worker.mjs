import { parentPort } from "node:worker_threads";
import { runJob } from "./job.mjs";

parentPort.postMessage(await runJob());
