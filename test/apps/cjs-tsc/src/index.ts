// Scenario 5c: a "type": "commonjs" package, compiled by tsc with NodeNext.
import { Thread } from "weft-threads";

function multiply(a: number, b: number): number {
  return a * b;
}

const thread = new Thread({ target: multiply, args: [6, 7] });
thread.start();
thread.join().then(() => {
  if (thread.error !== undefined) console.log(`ERROR ${JSON.stringify(String((thread.error as Error).stack))}`);
  const result: unknown = thread.result;
  console.log(`RESULT ${JSON.stringify(result)}`);
});
