import assert from "node:assert/strict";
import { Oci2LxcError } from "../../core/errors.ts";
import {
  formatRegistryReference,
  manifestReference,
  parseRegistryReference,
  registryEndpoint,
} from "../../core/registry/reference.ts";

const D = `sha256:${"ab".repeat(32)}`;

// [what the user writes, registry, repository, tag, digest]: distribution/reference's normalize_test.go cases.
const CASES: [string, string, string, string | undefined, string | undefined][] = [
  ["busybox", "docker.io", "library/busybox", "latest", undefined],
  ["busybox:1.36", "docker.io", "library/busybox", "1.36", undefined],
  ["library/busybox", "docker.io", "library/busybox", "latest", undefined],
  ["docker.io/busybox", "docker.io", "library/busybox", "latest", undefined],
  ["index.docker.io/busybox", "docker.io", "library/busybox", "latest", undefined],
  ["index.docker.io/user/app:v1", "docker.io", "user/app", "v1", undefined],
  ["user/app", "docker.io", "user/app", "latest", undefined],
  ["user/sub/app", "docker.io", "user/sub/app", "latest", undefined],
  ["localhost/app", "localhost", "app", "latest", undefined],
  ["localhost:5000/app:1", "localhost:5000", "app", "1", undefined],
  ["127.0.0.1:5000/a/b", "127.0.0.1:5000", "a/b", "latest", undefined],
  ["[::1]:5000/app", "[::1]:5000", "app", "latest", undefined],
  ["quay.io/org/app", "quay.io", "org/app", "latest", undefined],
  ["registry:5000/app", "registry:5000", "app", "latest", undefined],
  ["Registry/app", "Registry", "app", "latest", undefined],
  ["ghcr.io/a/b-c__d.e/f", "ghcr.io", "a/b-c__d.e/f", "latest", undefined],
  [`busybox@${D}`, "docker.io", "library/busybox", undefined, D],
  [`quay.io/a/b:1.0@${D}`, "quay.io", "a/b", "1.0", D],
];

Deno.test("parseRegistryReference() normalises names with Docker Hub's rules", () => {
  for (const [written, registry, repository, tag, digest] of CASES) {
    const r = parseRegistryReference(`docker://${written}`);
    assert.deepEqual(
      { registry: r.registry, repository: r.repository, tag: r.tag, digest: r.digest },
      { registry, repository, tag, digest },
      written,
    );
  }
});

Deno.test("parseRegistryReference(): the digest decides over a tag beside it", () => {
  const r = parseRegistryReference(`docker://busybox:1.36@${D}`);
  assert.equal(manifestReference(r), D);
  assert.equal(formatRegistryReference(r), `docker.io/library/busybox:1.36@${D}`);
  assert.equal(manifestReference(parseRegistryReference("docker://busybox")), "latest");
});

Deno.test("parseRegistryReference() refuses what distribution refuses, as usage errors", () => {
  const bad: [string, RegExp][] = [
    ["busybox", /does not start with docker:\/\//],
    ["docker:busybox", /does not start with docker:\/\//],
    ["docker://", /the name is empty/],
    ["docker://BusyBox", /must be lowercase/],
    ["docker://quay.io/Org/app", /must be lowercase/],
    [`docker://${"ab".repeat(32)}`, /image ID/],
    ["docker://a//b", /not a valid reference/],
    ["docker://a/b:", /not a valid reference/],
    ["docker://a/b:-x", /not a valid reference/],
    ["docker://-a/b", /not a valid reference/],
    ["docker://a/b@sha256:abc", /not a valid reference/],
    [`docker://a/b@md5:${"ab".repeat(16)}`, /not supported/],
    [`docker://a/b@sha256:${"AB".repeat(32)}`, /lowercase hex/],
    [`docker://quay.io/${"a".repeat(260)}`, /longer than 255/],
    ["docker://a b", /not a valid reference/],
  ];
  for (const [text, reason] of bad) {
    assert.throws(() => parseRegistryReference(text), (err: unknown) => {
      assert.ok(err instanceof Oci2LxcError, text);
      assert.equal(err.code, "usage", text);
      assert.match(err.message, /^Cannot parse image reference /, text);
      assert.match(err.message, reason, text);
      return true;
    });
  }
});

Deno.test("registryEndpoint() serves Docker Hub at registry-1.docker.io and others at their name", () => {
  assert.equal(registryEndpoint("docker.io"), "registry-1.docker.io");
  assert.equal(registryEndpoint("quay.io"), "quay.io");
  assert.equal(registryEndpoint("localhost:5000"), "localhost:5000");
});
