/**
 * The name of the journal a generation swap writes into the directory about to become DEST, before it moves any
 * volume data into it. Its own file so that `core/rootfs/stale_leftovers.ts` can leave such a directory alone
 * (it may hold the container's data) without importing the swap.
 *
 * @module
 */

/** `.oci2lxc-swap.json` inside the incoming container directory. */
export const SWAP_JOURNAL = ".oci2lxc-swap.json";
