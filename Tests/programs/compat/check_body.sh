#!/bin/sh
# check_body.sh CMD [ARG...] -- run a fetcher that prints the body (curl, wget);
# print "ok" if it starts with "hello", else "error: ...".
err=$(mktemp)
body=$("$@" 2>"$err")
rc=$?
if [ $rc -ne 0 ]; then
    body="$body$(cat "$err")"; rm -f "$err"
    [ -z "$body" ] && body="(no output)"
    echo "error: $1 exit $rc: $(printf '%s' "$body" | tr '\n' ' ' | cut -c1-160)"
    exit 1
fi
rm -f "$err"
case $body in
hello*) echo ok ;;
*) echo "error: unexpected body: $(printf '%s' "$body" | head -c 40)"; exit 1 ;;
esac
