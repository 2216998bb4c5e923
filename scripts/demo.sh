#!/usr/bin/env bash
# Convert the bundled busybox example image into an LXC container directory.
# Usage: bash scripts/demo.sh [DEST]   (default /tmp/oci2lxc-demo/busybox)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure_deno.sh
dest=${1:-/tmp/oci2lxc-demo/busybox}
deno task -q oci2lxc convert oci-archive:fixtures/images/busybox.oci.tar "$dest" --force
echo
echo "Converted. Start it with:  lxc-start -n $(basename "$dest") -P $(dirname "$dest")"
