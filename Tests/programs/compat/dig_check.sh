#!/bin/sh
# dig_check.sh NAME [@SERVER] -- dig +short (1 try, 2 s); "ok" if the answer is 127.0.0.2.
name=$1; shift
out=$(dig +short +time=2 +tries=1 "$@" "$name" A 2>/dev/null)
rc=$?
if [ $rc -eq 0 ] && [ "$out" = 127.0.0.2 ]; then echo ok; else
    echo "error: dig exit $rc: $(printf '%s' "$out" | tr '\n' ' ' | cut -c1-160)"; exit 1; fi
