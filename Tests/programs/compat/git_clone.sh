#!/bin/sh
# git_clone.sh URL DIR -- git clone over HTTP (dumb or smart) with no user or system
# config, no credential prompt, 5 s low-speed limit; "ok" if README says hello.
url=$1 dir=$2
rm -rf "$dir"
# a fixed identity: otherwise git looks the machine's FQDN up (DNS) for the reflog
out=$(GIT_COMMITTER_NAME=kit GIT_COMMITTER_EMAIL=kit@example.invalid GIT_AUTHOR_NAME=kit \
      GIT_AUTHOR_EMAIL=kit@example.invalid GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_TERMINAL_PROMPT=0 GIT_ASKPASS=/bin/false \
      git -c http.lowSpeedLimit=1 -c http.lowSpeedTime=5 -c http.proxy= -c credential.helper= \
      clone -q "$url" "$dir" 2>&1)
rc=$?
if [ $rc -ne 0 ]; then
    echo "error: git clone exit $rc: $(printf '%s' "$out" | tr '\n' ' ' | cut -c1-160)"
    exit 1
fi
if grep -q '^hello' "$dir/README" 2>/dev/null; then echo ok; else echo "error: README missing or wrong"; exit 1; fi
