// Scenario 9: a module target WITHOUT the isMainThread guard that starts a thread on itself
// at its top level. Importing it in the thread would start another thread, and so on.
import { isMainThread, RuntimeError, Thread } from "weft-threads";

export function worker() {
  return "ran";
}

const t = new Thread({ target: { module: import.meta.url, export: "worker" } });
t.start();
await t.join();
const who = isMainThread ? "MAIN" : "NESTED";
console.log(`${who} RESULT ${JSON.stringify(t.result)}`);
console.log(`${who} ERROR_IS_RUNTIME ${t.error instanceof RuntimeError}`);
console.log(`${who} ERROR_NAME ${JSON.stringify(t.error?.name)}`);
console.log(`${who} ERROR_MESSAGE ${JSON.stringify(t.error?.message)}`);
