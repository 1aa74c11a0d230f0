// Scenario 5a: CommonJS `require("weft-threads")`.
const { Thread } = require("weft-threads");

const t = new Thread({ target: (a, b) => a * b, args: [6, 7] });
t.start();
t.join().then(async () => {
  if (t.error !== undefined) console.log(`ERROR ${JSON.stringify(String(t.error.stack))}`);
  console.log(`RESULT ${JSON.stringify(t.result)}`);
  const esm = await import("weft-threads");
  console.log(`SAME_LOCK ${require("weft-threads").Lock === esm.Lock}`);
});
