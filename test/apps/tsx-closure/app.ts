// Scenario 1: a shipped closure that declares an inner function, an arrow function and a
// class, run with `tsx app.ts` (tsx compiles with esbuild's keepNames, which wraps those in
// `__name(...)` calls).
import { Thread } from "weft-threads";

function sumOfSquares(n: number): number {
  function square(x: number): number {
    return x * x;
  }
  const add = (a: number, b: number): number => a + b;
  class Accumulator {
    total = 0;
    push(value: number): void {
      this.total = add(this.total, value);
    }
  }
  const acc = new Accumulator();
  for (let i = 1; i <= n; i++) acc.push(square(i));
  return acc.total;
}

const thread = new Thread({ target: sumOfSquares, args: [4] });
thread.start();
await thread.join();
if (thread.error !== undefined) console.log(`ERROR ${JSON.stringify(String((thread.error as Error).stack))}`);
console.log(`RESULT ${JSON.stringify(thread.result)}`);
