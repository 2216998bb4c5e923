/**
 * The event script our DHCP clients run (busybox udhcpc/udhcpc6 call it with the event as `$1`; ISC dhclient sets
 * `$reason`). It runs on the host with the client, inside the container's network namespace, so `ip` changes only the
 * container's interfaces, and it writes only below DEST/network: the lease state and resolv.conf, rewritten in place so
 * the bind mount over the container's /etc/resolv.conf shows the new content.
 *
 * What it does on a lease (bound, renew): replace the interface's address with the leased one, valid for the lease time
 * (so an address outlives a dead client by one lease at most), set the MTU the server gives (unless `--net mtu=` fixed
 * it), add classless static routes (option 121) or else a default route via the first router, with a metric per
 * interface, and collect DNS servers and search domains of all leases into resolv.conf (three servers at most, as glibc
 * reads no more). Values from the server are checked against the characters an address or domain may have before they
 * reach a command or a file. On deconfig/expiry it removes what it added. Everything it does or fails to do goes to
 * DEST/network/dhcp.log.
 *
 * @module
 */
import { shellWord } from "./lxc_net_lines.ts";
import { type NetworkPaths, RESOLV_CONF_HEADER } from "./network_dir.ts";

/** Options for {@linkcode dhcpEventScript}. */
export interface DhcpEventScriptOptions {
  paths: NetworkPaths;
  /** Which address family this copy of the script handles. */
  family: 4 | 6;
  /** argv of the `ip` command on the host: `["/usr/sbin/ip"]` or `["/bin/busybox", "ip"]`. */
  ip: readonly string[];
  /** Interfaces whose MTU the config fixes; a server's MTU is ignored for them. */
  fixedMtu: readonly string[];
  /** Interfaces in order; the default route of the Nth gets metric 100+N. */
  interfaces: readonly string[];
}

/** The text of the event script. */
export function dhcpEventScript(options: DhcpEventScriptOptions): string {
  const { paths } = options;
  const metricCases = options.interfaces.map((name, i) => `    ${shellWord(name)}) echo ${100 + i} ;;`).join("\n");
  const fixed = options.fixedMtu.map((n) => ` ${n} `).join("");
  return `#!/bin/sh
# Written by oci2lxc at every container start; do not edit (see DEST/network/dhcp.log).
# A DHCP client runs this on the host, inside the container's network namespace.
FAMILY=${options.family}
NET_DIR=${shellWord(paths.dir)}
STATE_DIR=${shellWord(paths.stateDir)}
LOG=${shellWord(paths.log)}
RESOLV=${shellWord(paths.resolvConf)}
FIXED_MTU=${shellWord(fixed)}
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
umask 022

ipc() { ${options.ip.map(shellWord).join(" ")} "$@"; }
log() { printf '%s %s\\n' "$(date '+%Y-%m-%dT%H:%M:%S%z')" "$*" >> "$LOG"; }
run() { ipc "$@" 2>>"$LOG" || log "$interface: ip $* failed"; }

is_num() { case $1 in ''|*[!0-9]*) return 1 ;; esac; return 0; }
is_ip4() { case $1 in ''|*[!0-9.]*) return 1 ;; esac; return 0; }
is_ip6() { case $1 in ''|*[!0-9A-Fa-f:.]*) return 1 ;; *:*) return 0 ;; esac; return 1; }
is_domain() { case $1 in ''|[!A-Za-z0-9]*|*[!A-Za-z0-9.-]*) return 1 ;; esac; return 0; }
metric_of() {
  case $1 in
${metricCases}
    *) echo 199 ;;
  esac
}
mask_bits() { # dotted mask -> prefix length
  bits=0
  for o in $(echo "$1" | tr . ' '); do
    case $o in 255) bits=$((bits + 8)) ;; 254) bits=$((bits + 7)) ;; 252) bits=$((bits + 6)) ;;
      248) bits=$((bits + 5)) ;; 240) bits=$((bits + 4)) ;; 224) bits=$((bits + 3)) ;;
      192) bits=$((bits + 2)) ;; 128) bits=$((bits + 1)) ;; esac
  done
  echo "$bits"
}
filter() { # filter TEST WORDS...: the words that pass TEST, once each
  t=$1; shift; out=''
  for w in "$@"; do $t "$w" || continue; case " $out " in *" $w "*) ;; *) out="$out $w" ;; esac; done
  echo "\${out# }"
}
state_get() { # state_get FILE KEY
  [ -f "$1" ] || return 0
  while IFS='=' read -r k v; do [ "$k" = "$2" ] && echo "$v"; done < "$1"
}

update_resolv() {
  lock="$NET_DIR/run/resolv.lock"; n=0
  while ! mkdir "$lock" 2>/dev/null && [ $n -lt 20 ]; do sleep 0.1; n=$((n + 1)); done
  servers=''; domains=''
  for f in "$STATE_DIR"/*.4 "$STATE_DIR"/*.6; do
    [ -f "$f" ] || continue
    servers="$servers $(state_get "$f" dns)"; domains="$domains $(state_get "$f" search)"
  done
  servers=$(filter is_ip_any $servers); domains=$(filter is_domain $domains)
  tmp="$NET_DIR/run/resolv.conf.$$"
  {
    printf '%s' ${shellWord(RESOLV_CONF_HEADER)}
    n=0
    for s in $servers; do n=$((n + 1)); [ $n -le 3 ] && echo "nameserver $s"; done
    [ -n "$domains" ] && echo "search $domains"
  } > "$tmp"
  # In place (truncate and write, same inode): the container sees this file through a bind mount.
  cat "$tmp" > "$RESOLV"
  rm -f "$tmp"; rmdir "$lock" 2>/dev/null
}
is_ip_any() { is_ip4 "$1" || is_ip6 "$1"; }

save_state() { # save_state FILE LINES...
  f=$1; shift
  printf '%s\\n' "$@" > "$f.tmp" && mv -f "$f.tmp" "$f"
}

v4_deconfig() {
  run link set dev "$interface" up
  old=$(state_get "$STATE_DIR/$interface.4" address)
  [ -n "$old" ] && run -4 addr del "$old" dev "$interface"
  rm -f "$STATE_DIR/$interface.4"
  update_resolv
}

v4_bound() { # $1 event; uses ip mask router dns domain search mtu lease staticroutes
  ev=$1
  if ! is_ip4 "$ip" || ! is_num "$mask"; then log "$interface: $ev without a usable address ($ip/$mask)"; return; fi
  old=$(state_get "$STATE_DIR/$interface.4" address)
  [ -n "$old" ] && [ "$old" != "$ip/$mask" ] && run -4 addr del "$old" dev "$interface"
  lft=''
  is_num "$lease" && lft="valid_lft $lease preferred_lft $lease"
  run -4 addr replace "$ip/$mask" brd + dev "$interface" $lft
  if is_num "$mtu" && [ "$mtu" -ge 576 ]; then
    case $FIXED_MTU in *" $interface "*) ;; *) run link set dev "$interface" mtu "$mtu" ;; esac
  fi
  metric=$(metric_of "$interface")
  gw=''
  if [ -n "$staticroutes" ]; then
    set -- $staticroutes
    while [ $# -ge 2 ]; do
      dst=$1; via=$2; shift 2
      case $dst in */*) is_ip4 "\${dst%/*}" && is_num "\${dst#*/}" || continue ;; *) continue ;; esac
      is_ip4 "$via" || continue
      if [ "$via" = 0.0.0.0 ]; then run -4 route replace "$dst" dev "$interface" metric "$metric"
      else run -4 route replace "$dst" via "$via" dev "$interface" metric "$metric"; fi
      [ "$dst" = 0.0.0.0/0 ] && gw=$via
    done
  else
    for r in $router; do
      if is_ip4 "$r"; then gw=$r; run -4 route replace default via "$r" dev "$interface" metric "$metric"; break; fi
    done
  fi
  save_state "$STATE_DIR/$interface.4" "address=$ip/$mask" "router=$gw" \\
    "dns=$(filter is_ip4 $dns)" "search=$(filter is_domain $domain $search)" "lease=$lease"
  update_resolv
  log "$interface: $ev: $ip/$mask router \${gw:-none} dns \${dns:-none} lease \${lease:-?} s"
}

v6_deconfig() {
  run link set dev "$interface" up
  old=$(state_get "$STATE_DIR/$interface.6" address)
  [ -n "$old" ] && run -6 addr del "$old" dev "$interface"
  rm -f "$STATE_DIR/$interface.6"
  update_resolv
}

v6_bound() { # $1 event; uses ipv6 plen lease dns search
  if ! is_ip6 "$ipv6"; then log "$interface: $1 without a usable IPv6 address ($ipv6)"; return; fi
  is_num "$plen" || plen=128
  old=$(state_get "$STATE_DIR/$interface.6" address)
  [ -n "$old" ] && [ "$old" != "$ipv6/$plen" ] && run -6 addr del "$old" dev "$interface"
  lft=''
  is_num "$lease" && lft="valid_lft $lease preferred_lft \${preferred:-$lease}"
  run -6 addr replace "$ipv6/$plen" dev "$interface" $lft
  save_state "$STATE_DIR/$interface.6" "address=$ipv6/$plen" "dns=$(filter is_ip6 $dns)" \\
    "search=$(filter is_domain $search)" "lease=$lease"
  update_resolv
  log "$interface: $1: $ipv6/$plen dns \${dns:-none} lease \${lease:-?} s (routes come from router advertisements)"
}

wait_link_local() { # DHCPv6 clients need a link-local address that passed duplicate detection
  n=0
  while [ $n -lt 50 ]; do
    case $(ipc -6 addr show dev "$interface" scope link 2>/dev/null) in
      *tentative*|'') sleep 0.1; n=$((n + 1)) ;;
      *) return 0 ;;
    esac
  done
  log "$interface: no usable IPv6 link-local address after 5 s"
}

if [ -n "$reason" ]; then
  # ISC dhclient: map its variables onto the ones udhcpc uses.
  case $reason in
    PREINIT) run link set dev "$interface" up ;;
    PREINIT6) run link set dev "$interface" up; wait_link_local ;;
    BOUND|RENEW|REBIND|REBOOT)
      ip=$new_ip_address; mask=$(mask_bits "$new_subnet_mask"); router=$new_routers
      dns=$new_domain_name_servers; domain=$new_domain_name; search=$new_domain_search
      mtu=$new_interface_mtu; lease=$new_dhcp_lease_time; staticroutes=''
      v4_bound "$(echo "$reason" | tr 'A-Z' 'a-z')" ;;
    EXPIRE|FAIL|RELEASE|STOP) log "$interface: $reason"; v4_deconfig ;;
    BOUND6|RENEW6|REBIND6)
      ipv6=$new_ip6_address; plen=$new_ip6_prefixlen; dns=$new_dhcp6_name_servers
      search=$new_dhcp6_domain_search; lease=$new_max_life; preferred=$new_preferred_life
      v6_bound "$(echo "$reason" | tr 'A-Z' 'a-z')" ;;
    EXPIRE6|RELEASE6|STOP6) log "$interface: $reason"; v6_deconfig ;;
    TIMEOUT|TIMEOUT6) log "$interface: $reason: no answer yet (the client keeps trying)" ;;
    *) ;;
  esac
  exit 0
fi

# busybox udhcpc / udhcpc6: the event is $1.
case $FAMILY:$1 in
  4:deconfig) v4_deconfig ;;
  4:bound|4:renew) v4_bound "$1" ;;
  6:deconfig) v6_deconfig ;;
  6:bound|6:renew) plen=128; v6_bound "$1" ;;
  *:leasefail) log "$interface: no lease yet (the client keeps trying)" ;;
  *:nak) log "$interface: the server refused the lease (NAK)\${message:+: $message}" ;;
  *) ;;
esac
exit 0
`;
}
