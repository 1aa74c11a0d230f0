import { runJob } from "./job.mjs";

export default function task() {
  return runJob();
}
