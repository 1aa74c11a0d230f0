// Scenario 2: module targets in TypeScript, run with `tsx app.ts` and `node --import tsx app.ts`:
// this file's own export (guarded by isMainThread) and an export of another .ts module.
import { isMainThread, Thread } from "weft-threads";

interface Doubled {
  input: number;
  output: number;
}

export function double(n: number): Doubled {
  return { input: n, output: n * 2 };
}

if (isMainThread) {
  const self = new Thread({ target: { module: import.meta.url, export: "double" }, args: [21] });
  const other = new Thread({ target: { module: new URL("./triple.ts", import.meta.url), export: "triple" }, args: [14] });
  self.start();
  other.start();
  await self.join();
  await other.join();
  for (const [tag, t] of [["SELF", self], ["OTHER", other]] as const) {
    if (t.error !== undefined) console.log(`${tag}_ERROR ${JSON.stringify(String((t.error as Error).stack))}`);
    console.log(`${tag} ${JSON.stringify(t.result)}`);
  }
}
