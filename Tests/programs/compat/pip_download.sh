#!/bin/sh
# pip_download.sh PYTHON INDEX_URL HOST DIR -- pip download safesockdemo==0.1 from a
# local PEP 503 index only: no config files, no cache, no version check, no retries.
py=$1 index=$2 host=$3 dir=$4
rm -rf "$dir"
# pip (requests) honours the proxy variables and PIP_* (this machine sets PIP_FIND_LINKS):
# drop them all, then set only what keeps pip to the one index.
for v in $(env | sed -n 's/^\(PIP_[A-Za-z0-9_]*\|[A-Za-z_]*_proxy\|[A-Z_]*_PROXY\)=.*/\1/p'); do unset "$v"; done
out=$(PIP_CONFIG_FILE=/dev/null PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
      "$py" -m pip download --no-deps --no-cache-dir --disable-pip-version-check --no-input \
      --timeout 5 --retries 0 --index-url "$index" --trusted-host "$host" \
      -d "$dir" safesockdemo==0.1 2>&1)
rc=$?
if [ $rc -ne 0 ]; then
    echo "error: pip exit $rc: $(printf '%s' "$out" | grep -iE 'error|warning' | tr '\n' ' ' | cut -c1-200)"
    exit 1
fi
if [ -f "$dir/safesockdemo-0.1-py3-none-any.whl" ]; then echo ok; else echo "error: wheel not downloaded"; exit 1; fi
