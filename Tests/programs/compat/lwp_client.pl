#!/usr/bin/perl
# lwp_client.pl URL -- one GET with LWP::UserAgent (Debian package libwww-perl), 5 s timeout, no proxy.
use strict;
use warnings;
use LWP::UserAgent;

my $url = shift or do { print STDERR "usage: lwp_client.pl URL\n"; exit 2 };
my $ua = LWP::UserAgent->new(timeout => 5, env_proxy => 0, max_redirect => 0);
$ua->no_proxy();
my $r = $ua->get($url);
if (!$r->is_success) { my $l = $r->status_line; $l =~ s/\s+/ /g; print "error: $l\n"; exit 1 }
if ($r->decoded_content !~ /^hello/) { print "error: unexpected body\n"; exit 1 }
print "ok\n";
