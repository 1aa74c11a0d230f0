/**
 * Helpers for the end-to-end suite (test/everywhere.test.ts): pack weft as a user would
 * install it, lay out a small app from test/apps/<name> in a temporary directory with the
 * packed weft in its node_modules, and run a command there with a time limit.
 *
 * The apps live under the OS temp directory, outside this repository: inside it, an app
 * would sit in the package scope of weft's own package.json (self-reference would resolve
 * "weft-threads" to this checkout's dist/, not to the packed copy). The tools an app needs (tsx,
 * vitest, piscina, ...) are symlinked from this repository's node_modules; Node and the
 * tools resolve the links to their real paths, so their own dependencies resolve from here.
 * (Not a test file: `npm test` runs build/test/*.test.js only.)
 */
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (this file runs as build/test/helpers/packed.js). */
export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const appsDir = join(repoRoot, "test", "apps");

/** The absolute path of a CLI in the repository's node_modules/.bin. */
export function bin(name: string): string {
  return join(repoRoot, "node_modules", ".bin", name);
}

/** The packed package: the tarball, and its contents extracted once. */
export interface Packed {
  /** The temporary directory that holds the tarball and every app. */
  root: string;
  tarball: string;
  /** The tarball's `package/` folder, extracted. */
  extracted: string;
  /** What the build step said, if it ran and complained (type errors still emit dist/). */
  buildWarning?: string;
}

export function packWeft(): Packed {
  let buildWarning: string | undefined;
  const distEntry = join(repoRoot, "dist", "index.js");
  if (!existsSync(distEntry)) {
    const tsc = join(repoRoot, "node_modules", "typescript", "bin", "tsc");
    const built = spawnSync(process.execPath, [tsc, "-p", join(repoRoot, "tsconfig.json")], { cwd: repoRoot, encoding: "utf8" });
    if (built.status !== 0) buildWarning = `tsc -p tsconfig.json exited ${built.status}:\n${built.stdout}${built.stderr}`;
    if (!existsSync(distEntry)) throw new Error(`building weft produced no dist/index.js\n${buildWarning ?? ""}`);
  }
  const root = mkdtempSync(join(tmpdir(), "weft-e2e-"));
  const env = cleanEnv();
  const packed = spawnSync("npm", ["pack", "--json", "--pack-destination", root], { cwd: repoRoot, encoding: "utf8", env });
  if (packed.status !== 0) throw new Error(`npm pack exited ${packed.status}:\n${packed.stdout}\n${packed.stderr}`);
  // Lifecycle scripts (prepack, ...) may print before the JSON.
  const json = packed.stdout.slice(Math.max(0, packed.stdout.search(/^\[/m)));
  const [info] = JSON.parse(json) as Array<{ filename: string }>;
  if (info === undefined) throw new Error(`npm pack printed no file name:\n${packed.stdout}`);
  const tarball = join(root, info.filename);
  const extracted = join(root, "weft-package");
  mkdirSync(extracted);
  const untar = spawnSync("tar", ["-xzf", tarball, "-C", extracted, "--strip-components=1"], { encoding: "utf8" });
  if (untar.status !== 0) throw new Error(`tar exited ${untar.status}: ${untar.stderr}`);
  return { root, tarball, extracted, ...(buildWarning === undefined ? {} : { buildWarning }) };
}

/** Removes the temporary directory (set WEFT_E2E_KEEP=1 to keep it for a look). */
export function cleanUp(packed: Packed): void {
  if (process.env.WEFT_E2E_KEEP) {
    process.stderr.write(`weft e2e: kept ${packed.root}\n`);
    return;
  }
  rmSync(packed.root, { recursive: true, force: true });
}

export interface AppOptions {
  /** The app's directory name under the temp root (default: the fixture's name). */
  as?: string;
  /** Packages to symlink, with their dependencies, from the repository's node_modules into the app's. */
  tools?: string[];
  /** Leave out node_modules/weft-threads (default: put the packed weft there). */
  withoutWeft?: boolean;
}

/** Copies test/apps/<fixture> to a fresh directory with the packed weft in node_modules/weft-threads. */
export function makeApp(packed: Packed, fixture: string, options: AppOptions = {}): string {
  const name = options.as ?? fixture;
  const dir = join(packed.root, name);
  if (existsSync(dir)) throw new Error(`app directory ${dir} already exists`);
  cpSync(join(appsDir, fixture), dir, { recursive: true });
  if (!existsSync(join(dir, "package.json"))) {
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: `weft-e2e-${name}`, private: true, type: "module" }, null, 2));
  }
  const modules = join(dir, "node_modules");
  mkdirSync(modules, { recursive: true });
  if (!options.withoutWeft) cpSync(packed.extracted, join(modules, "weft-threads"), { recursive: true });
  for (const pkg of hoisted(options.tools ?? [])) {
    const link = join(modules, pkg);
    if (pkg === "weft-threads" || existsSync(link)) continue;
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(join(repoRoot, "node_modules", pkg), link, "dir");
  }
  return dir;
}

/**
 * The packages `npm install` would put at the top of an app's node_modules for `tools`:
 * each tool and, transitively, the dependencies it has at the top of this repository's
 * node_modules (a nested copy travels inside its parent's link).
 */
function hoisted(tools: string[]): string[] {
  const seen = new Set<string>();
  const visit = (pkg: string): void => {
    if (seen.has(pkg)) return;
    const manifest = join(repoRoot, "node_modules", pkg, "package.json");
    if (!existsSync(manifest)) return;
    seen.add(pkg);
    const json = JSON.parse(readFileSync(manifest, "utf8")) as { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
    for (const dep of Object.keys({ ...json.dependencies, ...json.optionalDependencies })) {
      if (!existsSync(join(repoRoot, "node_modules", pkg, "node_modules", dep))) visit(dep);
    }
  };
  for (const tool of tools) {
    if (!existsSync(join(repoRoot, "node_modules", tool, "package.json"))) throw new Error(`${tool} is not installed in ${repoRoot}node_modules`);
    visit(tool);
  }
  return [...seen];
}

/** An empty directory under the temp root (no node_modules anywhere above it). */
export function bareDir(packed: Packed, name: string): string {
  const dir = join(packed.root, name);
  mkdirSync(dir);
  return dir;
}

/** How a command ended. */
export interface Outcome {
  command: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Killed by us after the time limit: it did not end by itself. */
  killed: boolean;
  ms: number;
}

export interface RunOptions {
  cwd: string;
  /** Written to the command's stdin, which is then closed (default: no stdin). */
  input?: string;
  /** Kill the command (and everything it started) after this long (default 60 s). */
  timeoutMs?: number;
  env?: Record<string, string | undefined>;
}

function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.NODE_TEST_CONTEXT; // the command is a plain program, not a node:test child
  delete env.NODE_OPTIONS;
  for (const [key, value] of Object.entries(extra)) if (value === undefined) delete env[key];
  return env;
}

const running = new Set<number>();
process.on("exit", () => {
  for (const pid of running) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
});

/**
 * Runs `command args` in its own process group; past the time limit, kills the whole group
 * (tsx and vitest start processes of their own).
 */
export function run(command: string, args: string[], options: RunOptions): Promise<Outcome> {
  const started = Date.now();
  const timeoutMs = options.timeoutMs ?? 60_000;
  const display = [command, ...args].map((a) => (/^[\w./:=@+-]+$/.test(a) ? a : JSON.stringify(a))).join(" ");
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: cleanEnv({ CI: "1", NO_COLOR: "1", FORCE_COLOR: undefined, ...options.env }),
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      detached: true,
    });
    let stdout = "";
    let stderr = "";
    let killed = false;
    const pid = child.pid;
    if (pid !== undefined) running.add(pid);
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    if (options.input !== undefined) {
      child.stdin!.on("error", () => {}); // the command may exit without reading it all
      child.stdin!.end(options.input);
    }
    const killer = setTimeout(() => {
      killed = true;
      try {
        if (pid !== undefined) process.kill(-pid, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    }, timeoutMs);
    child.on("error", (error) => {
      clearTimeout(killer);
      if (pid !== undefined) running.delete(pid);
      reject(error);
    });
    child.on("close", (code, signal) => {
      clearTimeout(killer);
      if (pid !== undefined) running.delete(pid);
      resolve({ command: display, code, signal, stdout, stderr, killed, ms: Date.now() - started });
    });
  });
}

/** Runs a Node script (or CLI entry) with this Node: `node ...args`. */
export function runNode(args: string[], options: RunOptions): Promise<Outcome> {
  return run(process.execPath, args, options);
}

function clip(text: string, max = 6000): string {
  return text.length <= max ? text : `${text.slice(0, max)}\n... (${text.length - max} more characters)`;
}

/** The outcome, for an assertion message. */
export function describeOutcome(outcome: Outcome): string {
  const how = outcome.killed
    ? `KILLED after ${outcome.ms} ms (did not end by itself)`
    : `exit code ${outcome.code}${outcome.signal ? `, signal ${outcome.signal}` : ""}, ${outcome.ms} ms`;
  return `\n$ ${outcome.command}\n${how}\n--- stdout ---\n${clip(outcome.stdout)}\n--- stderr ---\n${clip(outcome.stderr)}\n---`;
}

/** The values printed on lines `TAG <json>` (each parsed; an unparsable one kept as text). */
export function tagged(stdout: string, tag: string): unknown[] {
  const values: unknown[] = [];
  for (const line of stdout.split("\n")) {
    if (!line.startsWith(`${tag} `)) continue;
    const text = line.slice(tag.length + 1).trim();
    try {
      values.push(JSON.parse(text));
    } catch {
      values.push(text);
    }
  }
  return values;
}
