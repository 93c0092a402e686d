#!/usr/bin/perl
# perl_client.pl URL -- one GET with core IO::Socket::INET, 5 s timeout.
use strict;
use warnings;
use IO::Socket::INET;

my $url = shift or do { print STDERR "usage: perl_client.pl URL\n"; exit 2 };
my ($host, $port, $path) = $url =~ m{^http://([^/:]+)(?::(\d+))?(/.*)?$}
    or do { print "error: bad URL $url\n"; exit 1 };
$port ||= 80;
$path ||= '/';
my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Proto => 'tcp', Timeout => 5)
    or do { print "error: connect $host:$port: $@\n"; exit 1 };
print $s "GET $path HTTP/1.0\r\nHost: $host:$port\r\nConnection: close\r\n\r\n";
my $data = '';
eval {
    local $SIG{ALRM} = sub { die "timeout\n" };
    alarm 5;
    while (my $n = sysread($s, my $buf, 65536)) { $data .= $buf; }
    alarm 0;
};
if ($@) { print "error: read: $@"; exit 1 }
my ($head, $body) = split /\r\n\r\n/, $data, 2;
if (($head // '') !~ m{^HTTP/\S+ 200 }) { print "error: bad status: ", (split /\r\n/, $head // '')[0] // '', "\n"; exit 1 }
if (($body // '') !~ /^hello/) { print "error: unexpected body\n"; exit 1 }
print "ok\n";
