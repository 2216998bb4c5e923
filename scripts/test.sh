#!/usr/bin/env bash
# Install what the tests need (as root, on Debian), build the bundle, run every test (the full suite).
# Usage: bash scripts/test.sh [extra deno test args]
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure_deno.sh
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  need=()
  for p in lxc dnsmasq-base busybox-static zstd gzip tar python3 iproute2 umoci skopeo libcap2-bin debootstrap isc-dhcp-client acl strace docker-registry apache2-utils openssl; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
  done
  if [ ${#need[@]} -gt 0 ]; then
    echo "Installing Debian packages: ${need[*]}" >&2
    (apt-get update -qq -o Acquire::Retries=3 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o Acquire::Retries=3 --no-install-recommends "${need[@]}") >&2 || {
      echo "error: Cannot install the Debian packages the tests need (${need[*]}): apt-get failed; check the apt sources and the network, then run this again" >&2
      exit 1
    }
  fi
fi
# Set-up that needs the network, done here and not in the tests: the Debian
# root filesystems (sysvinit, systemd) from the host's apt mirror, cached in
# /var/cache/oci2lxc-tests; the helper builds every package list the tests use.
if [ "$(id -u)" = 0 ]; then
  deno run -A tests/_helpers/debian_rootfs.ts >&2 || echo "warning: no Debian rootfs cache: its tests will fail" >&2
  deno run -A tests/_helpers/lxc6_root.ts >&2 || echo "warning: no LXC 6 root cache (Debian 13): the LXC 6 tests will fail" >&2
fi
deno task bundle >&2 || exit 1
# The full suite, both tiers (deno.json's "test" task); `deno task test:unit` is the fast one, as a normal user.
exec deno task test "$@"
