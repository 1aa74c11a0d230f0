// Scenario 11: util.inspect of a Lock.
import { inspect } from "node:util";
import { Lock } from "weft-threads";

console.log(`INSPECT ${JSON.stringify(inspect(new Lock()))}`);
