# tclsh tcl_client.tcl HOST PORT -- socket + gets: one GET /, 5 s connect timeout
# (reads are bounded by the caller's `timeout`).  Prints "ok" or "error: ...".
if {$argc != 2} { puts stderr "usage: tclsh tcl_client.tcl HOST PORT"; exit 2 }
lassign $argv host port
if {[catch {socket -async $host $port} s]} { puts "error: $s"; exit 1 }
fileevent $s writable {set ::state connected}
set timer [after 5000 {set ::state timeout}]
vwait ::state
after cancel $timer
if {$::state ne "connected"} { puts "error: connect timeout"; exit 1 }
set err [fconfigure $s -error]
if {$err ne ""} { puts "error: connect $host:$port: $err"; exit 1 }
fileevent $s writable {}
fconfigure $s -blocking 1 -translation {auto crlf} -buffering line
puts $s "GET / HTTP/1.0"
puts $s "Host: $host:$port"
puts $s ""
flush $s
set status [gets $s]
if {![string match "HTTP/* 200 *" $status]} { puts "error: bad status: $status"; exit 1 }
while {[gets $s line] > 0} {}
set body [gets $s]
close $s
if {![string match "hello*" $body]} { puts "error: unexpected body: $body"; exit 1 }
puts ok
