/**
 * The few assertions our tests use, over node:assert (JSR's @std/assert is
 * out of reach here).
 */
import nodeAssert from "node:assert";

/** Assert a truthy value. */
export function assert(value: unknown, message?: string): asserts value {
  nodeAssert.ok(value, message);
}

/** Assert deep strict equality. */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, message);
}

/** Assert that `fn` throws (optionally an instance of `type` whose message includes `includes`); returns the error. */
export function assertThrows(
  fn: () => unknown,
  // deno-lint-ignore no-explicit-any
  type?: new (...args: any[]) => Error,
  includes?: string,
): Error {
  try {
    fn();
  } catch (err) {
    if (type && !(err instanceof type)) throw new Error(`expected ${type.name}, got ${err}`, { cause: err });
    if (includes !== undefined && !(err as Error).message.includes(includes)) {
      throw new Error(
        `expected message to include ${JSON.stringify(includes)}, got ${JSON.stringify((err as Error).message)}`,
      );
    }
    return err as Error;
  }
  throw new Error("expected the function to throw");
}

/** Async form of {@linkcode assertThrows}. */
export async function assertRejects(
  fn: () => Promise<unknown>,
  // deno-lint-ignore no-explicit-any
  type?: new (...args: any[]) => Error,
  includes?: string,
): Promise<Error> {
  try {
    await fn();
  } catch (err) {
    if (type && !(err instanceof type)) throw new Error(`expected ${type.name}, got ${err}`, { cause: err });
    if (includes !== undefined && !(err as Error).message.includes(includes)) {
      throw new Error(
        `expected message to include ${JSON.stringify(includes)}, got ${JSON.stringify((err as Error).message)}`,
      );
    }
    return err as Error;
  }
  throw new Error("expected the promise to reject");
}
