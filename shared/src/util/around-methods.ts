/**
 * A proxy of `target` whose named methods run inside `around` (timing, latency publishing, test faults);
 * every other method is the target's own, bound to it, and properties pass through untouched.
 */
export function aroundMethods<T extends object>(
  target: T,
  names: readonly (keyof T & string)[],
  around: (op: string, call: () => Promise<unknown>) => Promise<unknown>,
): T {
  const wrapped = new Set<string | symbol>(names);
  return new Proxy(target, {
    get(t, prop) {
      const value: unknown = Reflect.get(t, prop, t);
      if (typeof value !== 'function') return value;
      const fn = value as (...args: unknown[]) => unknown;
      if (!wrapped.has(prop)) return fn.bind(t);
      return (...args: unknown[]) => around(String(prop), async () => fn.apply(t, args));
    },
  });
}
