// Scenario 10, under tsx.
import { Thread } from "weft-threads";

function explode(): never {
  throw new Error("kaboom from the thread");
}

const t = new Thread({ target: explode });
t.start();
await t.join();
console.log(`STACK ${JSON.stringify((t.error as Error | undefined)?.stack)}`);
