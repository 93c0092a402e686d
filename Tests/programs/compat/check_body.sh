#!/bin/sh
# check_body.sh CMD [ARG...] -- run a fetcher that prints the body (curl, wget);
# print "ok" if it starts with "hello", else "error: ...".
body=$("$@" 2>&1)
rc=$?
if [ $rc -ne 0 ]; then
    [ -z "$body" ] && body="(no output)"
    echo "error: $1 exit $rc: $(printf '%s' "$body" | tr '\n' ' ' | cut -c1-160)"
    exit 1
fi
case $body in
hello*) echo ok ;;
*) echo "error: unexpected body: $(printf '%s' "$body" | head -c 40)"; exit 1 ;;
esac
