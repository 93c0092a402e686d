#!/usr/bin/env python3
"""py_client.py MODE URL  -- MODE is urllib, httpclient or asyncio.

One GET of URL with a 5 s timeout, no proxy; prints "ok" if the body starts
with "hello", else "error: ..." and exits 1.
"""
import asyncio
import http.client
import sys
import urllib.parse
import urllib.request

TIMEOUT = 5


def via_urllib(url):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=TIMEOUT) as r:
        return r.read(1 << 20)


def via_httpclient(url):
    u = urllib.parse.urlsplit(url)
    c = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=TIMEOUT)
    try:
        c.request("GET", u.path or "/")
        r = c.getresponse()
        if r.status != 200:
            raise RuntimeError("HTTP %d" % r.status)
        return r.read(1 << 20)
    finally:
        c.close()


async def _asyncio_get(url):
    u = urllib.parse.urlsplit(url)
    reader, writer = await asyncio.open_connection(u.hostname, u.port or 80)
    try:
        writer.write(("GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n"
                      % (u.path or "/", u.netloc)).encode())
        await writer.drain()
        data = await reader.read(1 << 20)
        while True:
            more = await reader.read(1 << 20)
            if not more:
                break
            data += more
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0]
    if b" 200 " not in status + b" ":
        raise RuntimeError("bad status %r" % status.decode(errors="replace"))
    return body


def via_asyncio(url):
    return asyncio.run(asyncio.wait_for(_asyncio_get(url), TIMEOUT))


MODES = {"urllib": via_urllib, "httpclient": via_httpclient, "asyncio": via_asyncio}


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in MODES:
        sys.stderr.write(__doc__)
        sys.exit(2)
    try:
        body = MODES[sys.argv[1]](sys.argv[2])
    except Exception as e:  # one line, whatever went wrong
        print("error: %s: %s" % (type(e).__name__, e))
        sys.exit(1)
    if not body.startswith(b"hello"):
        print("error: unexpected body %r" % body[:40])
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
