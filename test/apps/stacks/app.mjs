// Scenario 10: the stack of a shipped closure's error points at the user's file.
import { Thread } from "weft-threads";

function explode() {
  throw new Error("kaboom from the thread");
}

const t = new Thread({ target: explode });
t.start();
await t.join();
console.log(`STACK ${JSON.stringify(t.error?.stack)}`);
