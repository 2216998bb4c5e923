/**
 * The two test tiers. `deno task test:unit` sets `OCI2LXC_TEST_TIER=unit` and runs what a contributor runs first, as a
 * normal user: no root, no LXC, no network namespaces, no mounts, no debootstrapped caches, and not `tests/e2e/` (each
 * of those runs the CLI from source and from the bundle, and most convert as root). `deno task test` (what
 * `scripts/test.sh` and `.ci/run` run, as root) is the full suite: both tiers.
 *
 * A test outside `tests/e2e/` that needs root is declared with {@linkcode systemTest} instead of `Deno.test`. Nothing
 * decides this silently: the unit tier shows those tests as ignored; a test that needs root but was written with
 * `Deno.test` fails in the unit tier with the EPERM it meets; the helpers that start LXC, build network namespaces or
 * read the Debian caches call {@linkcode requireSystemTier}, which fails in the unit tier even when it runs as root;
 * and in the full tier a system test that does not run as root fails naming the command to run instead.
 *
 * @module
 */

/** Whether this process runs the unit tier (`deno task test:unit`). */
export const UNIT_TIER = Deno.env.get("OCI2LXC_TEST_TIER") === "unit";

type TestFn = (t: Deno.TestContext) => void | Promise<void>;

/**
 * Register a test of the full tier: it needs root (owners, device nodes, mounts, LXC, network namespaces or the
 * debootstrapped caches). The unit tier lists it as ignored; the full tier fails it when not run as root.
 */
export function systemTest(name: string, fn: TestFn): void;
export function systemTest(definition: Deno.TestDefinition): void;
export function systemTest(nameOrDefinition: string | Deno.TestDefinition, maybeFn?: TestFn): void {
  const definition: Deno.TestDefinition = typeof nameOrDefinition === "string"
    ? { name: nameOrDefinition, fn: maybeFn! }
    : nameOrDefinition;
  const fn = definition.fn;
  Deno.test({
    ...definition,
    ignore: UNIT_TIER || definition.ignore === true,
    fn: (t) => {
      if (Deno.uid() !== 0) {
        throw new Error(
          `Cannot run the system test "${definition.name}": it needs root; run the full suite as root ` +
            "(bash scripts/test.sh), or `deno task test:unit` as a normal user",
        );
      }
      return fn(t);
    },
  });
}

/**
 * Throw in the unit tier: called by the helpers that need root (LXC, network namespaces, the Debian caches, the CLI
 * end-to-end), so a test that uses them without {@linkcode systemTest} fails loudly there, even when run as root.
 */
export function requireSystemTier(what: string): void {
  if (!UNIT_TIER) return;
  throw new Error(
    `Cannot use ${what} in the unit tier: declare the test with systemTest() from tests/_helpers/tier.ts, ` +
      "or put it in tests/e2e/",
  );
}
