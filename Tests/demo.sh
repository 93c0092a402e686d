#!/usr/bin/env bash
# `make demo`: safesock deciding the manual page's example, then enforcing
# the home policy in a real program (curl) against a real server on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
safesock=build/bin/safesock
python=$(command -v python3.11 || command -v python3)

show() {
	printf '\n$'
	for word in "$@"; do if [ -z "$word" ]; then printf ' ""'; else printf ' %s' "$word"; fi; done
	printf '\n'
	"$@" || true
}

echo "== The page's example (policies/example.cfg), decided"
show $safesock explain policies/example.cfg www.sun.com 1025
show $safesock explain policies/example.cfg www.sun.com 1024
show $safesock explain policies/example.cfg A.CS.MySite.EDU. 80
show $safesock explain policies/example.cfg "" 5000 --origin tclet.example
show $safesock explain policies/example.cfg www.sun.com http

echo
echo "== The home policy enforced in curl: back to the origin (127.0.0.1) above port 1023 only"
dir=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$dir"' EXIT
echo "hello from the origin" > "$dir/hello.txt"
port=$($python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
$python -m http.server --bind 127.0.0.1 --directory "$dir" "$port" >/dev/null 2>&1 &
server=$!
for _ in $(seq 50); do curl -s "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.1; done
show $safesock run --policy policies/home.cfg --origin 127.0.0.1 -- curl -sS "http://127.0.0.1:$port/hello.txt"
show $safesock run --policy policies/home.cfg --origin 127.0.0.1 -- curl -sS "http://127.0.0.1:80/"
show $safesock run --policy policies/home.cfg --origin 127.0.0.1 -- curl -sS "http://127.0.0.2:$port/hello.txt"
