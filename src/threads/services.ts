/**
 * Services: weft's own work that must go on while every thread, the main thread included,
 * is blocked, and so cannot run on any of their event loops (the hang watchdog). A service
 * runs on a carrier of its own, a worker that is not a thread: it has no ident in the
 * thread table, so dumps and the watchdog do not see it, and it never keeps the process
 * alive.
 *
 * The module that provides a service registers it by name as it loads; every carrier
 * loads all of weft, so the function is there when the carrier is asked to run it.
 */
const services = new Map<string, (payload: unknown) => void>();

/** Registers `run` as the service `name` (in every thread weft loads in). */
export function registerService<P>(name: string, run: (payload: P) => void): void {
  services.set(name, run as (payload: unknown) => void);
}

/** The service `name`, as registered. */
export function serviceNamed(name: string): ((payload: unknown) => void) | undefined {
  return services.get(name);
}
