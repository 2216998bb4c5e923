#!/usr/bin/perl
# A manual check, not run by `deno test` (Proxmox VE's code cannot be fetched in CI): parse an oci2lxc VMID.conf
# with pve-container's own PVE::LXC::Config::parse_pct_config in strict mode, which dies on any line Proxmox VE
# would drop, then print what it kept and the MAC address parse_lxc_network gives each interface.
#
#   git clone https://github.com/proxmox/pve-container; git clone https://github.com/proxmox/pve-common
#   git -C pve-container checkout ee3850a   # 6.0.15, the first 9.1 release (or any other release)
#   apt-get install libhttp-message-perl libjson-perl libnet-ip-perl liburi-perl libdevel-cycle-perl \
#     libencode-locale-perl liblinux-inotify2-perl libclone-perl libfile-chdir-perl libstring-shellquote-perl \
#     libfilesys-df-perl libnetaddr-ip-perl libanyevent-perl
#   perl -Ipve-container/src -Ipve-common/src tests/pve/pve_parse_conf.pl out/120.conf
#
# Modules of other Proxmox VE packages (cluster, storage, guest-common) load as empty stubs: parsing never calls them.
use strict;
use warnings;

unshift @INC, sub {
    my (undef, $file) = @_;
    return if $file !~ m{^PVE/};
    for my $dir (grep { !ref } @INC) { return if -e "$dir/$file"; }
    (my $pkg = $file) =~ s|/|::|g;
    $pkg =~ s/\.pm$//;
    my $src = "package $pkg; no strict; sub import { my \$c = caller; shift; *{\"\${c}::\$_\"} = sub { return undef } for \@_; }"
        . " our \$AUTOLOAD; sub AUTOLOAD { return undef } 1;\n";
    open(my $fh, '<', \$src);
    return $fh;
};

require PVE::LXC::Config;

my ($file) = @ARGV;
die "usage: $0 VMID.conf\n" if !defined($file);
$file =~ m{(\d+)\.conf$} or die "$file: the name must be VMID.conf\n";
my $vmid = $1;
open(my $fh, '<', $file) or die "$file: $!\n";
my $raw = do { local $/; <$fh> };
my $conf = PVE::LXC::Config::parse_pct_config("/etc/pve/lxc/$vmid.conf", $raw, 1);
for my $key (sort keys %$conf) {
    next if grep { $key eq $_ } qw(digest snapshots pending lxc description);
    (my $value = $conf->{$key}) =~ s/\0/ | /g;
    print "$key: $value\n";
}
print "raw $_->[0] = $_->[1]\n" for @{ $conf->{lxc} // [] };
for my $key (sort grep { /^net\d+$/ } keys %$conf) {
    print "$key hwaddr: ", PVE::LXC::Config->parse_lxc_network($conf->{$key})->{hwaddr}, "\n";
}
