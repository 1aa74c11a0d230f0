import { nodeResolve } from "@rollup/plugin-node-resolve";

export default {
  input: "app.js",
  output: { dir: "out", format: "es" },
  plugins: [nodeResolve()],
};
