/**
 * Errors crossing threads. Structured cloning keeps only the built-in error classes, so an
 * error travels as its class name, message, stack and own properties, and is rebuilt on
 * arrival as an instance of the class registered under that name: built-ins and weft's
 * own classes are registered here, so `instanceof` works across threads. The thread's
 * name is added to the message and its stack appended to the local one.
 */
import * as weftErrors from "../core/errors.js";
import { decode, encode, type Packet } from "./encode.js";

type ErrorClass = new (message?: string) => Error;

const classes = new Map<string, ErrorClass>();

/** Registers an error class so that it arrives from other threads as itself. */
export function registerErrorClass(cls: ErrorClass, name = cls.name): void {
  classes.set(name, cls);
}

for (const cls of [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError]) registerErrorClass(cls);
registerErrorClass(AggregateError as unknown as ErrorClass);
for (const cls of Object.values(weftErrors)) registerErrorClass(cls as ErrorClass);

/** An error reduced to plain data. */
export interface EncodedError {
  readonly kind: "error";
  readonly name: string;
  readonly className: string;
  readonly message: string;
  readonly stack: string | undefined;
  readonly props: Packet | undefined;
  /** The thrown value itself, when it was not an Error. */
  readonly thrown?: Packet;
}

/** Turns whatever was thrown into plain data. */
export function encodeError(thrown: unknown): EncodedError {
  if (!(thrown instanceof Error)) {
    let packet: Packet;
    try {
      packet = encode(thrown, "thrown value");
      structuredClone(packet.value);
    } catch {
      packet = { value: String(thrown) };
    }
    return { kind: "error", name: "Error", className: "", message: String(thrown), stack: undefined, props: undefined, thrown: packet };
  }
  const props: Record<string, unknown> = {};
  for (const key of Object.keys(thrown)) {
    if (key === "name" || key === "message" || key === "stack") continue;
    const value = (thrown as unknown as Record<string, unknown>)[key];
    try {
      structuredClone(encode(value, key).value);
      props[key] = value;
    } catch {
      props[key] = String(value);
    }
  }
  if (thrown.cause !== undefined && !("cause" in props)) props.cause = encodeError(thrown.cause);
  // An AggregateError's `errors` (what Promise.any rejects with) is its own, non-enumerable.
  if (thrown instanceof AggregateError && !("errors" in props)) props.errors = Array.from(thrown.errors, (item) => encodeError(item));
  return {
    kind: "error",
    name: thrown.name,
    className: thrown.constructor?.name ?? "Error",
    message: thrown.message,
    stack: thrown.stack,
    props: Object.keys(props).length > 0 ? encode(props, "error") : undefined,
  };
}

/**
 * Rebuilds an error from another thread. `where` (e.g. `in thread "Thread-1 (work)"`) is
 * added to the message (unless `tagMessage` is false: an error relayed a second time, whose
 * message names its thread already) and names the remote stack, appended after the local one.
 */
export function decodeError(encoded: EncodedError, where: string, tagMessage = true): unknown {
  if (encoded.thrown !== undefined) return decode(encoded.thrown);
  const cls = classes.get(encoded.className) ?? classes.get(encoded.name) ?? Error;
  const error = Object.create(cls.prototype) as Error;
  const message = where && tagMessage ? `${encoded.message} [${where}]` : encoded.message;
  Object.defineProperty(error, "message", { value: message, writable: true, configurable: true });
  if (encoded.name !== cls.prototype.name) {
    Object.defineProperty(error, "name", { value: encoded.name, writable: true, configurable: true });
  }
  const props = encoded.props === undefined ? {} : (decode(encoded.props) as Record<string, unknown>);
  for (const [key, value] of Object.entries(props)) {
    const aggregated = key === "errors" && error instanceof AggregateError && Array.isArray(value);
    const revived =
      key === "cause" && isEncodedError(value)
        ? decodeError(value, where)
        : aggregated
          ? value.map((item: unknown) => (isEncodedError(item) ? decodeError(item, where) : item))
          : value;
    Object.defineProperty(error, key, { value: revived, writable: true, configurable: true, enumerable: key !== "cause" && !aggregated });
  }
  const remote = encoded.stack ?? `${encoded.name}: ${encoded.message}`;
  const local = new Error().stack?.split("\n").slice(2).join("\n") ?? "";
  Object.defineProperty(error, "stack", {
    value: `${remote}\n    --- ${where || "in another thread"}; received at ---\n${local}`,
    writable: true,
    configurable: true,
  });
  return error;
}

/** True for what `encodeError` produced. */
export function isEncodedError(value: unknown): value is EncodedError {
  return typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === "error" && "className" in value;
}
