#!/usr/bin/env python3
"""A listener that counts what arrives, for the tests that must see nothing.

usage: counting_listener.py PORT COUNTS ADDR...

Listens on PORT at every ADDR (IPv4 or IPv6), answers each connection
with an HTTP/1.0 response whose body is "hello\\n", and after every one rewrites the file COUNTS as lines
"ADDR N" (the address it arrived at, how many). Prints "ready" once
listening. Exits after 120 seconds, or when killed.
"""
import os
import select
import socket
import sys
import time


def main():
    port, counts_path, addresses = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    listeners = []
    for address in addresses:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((address, port))
        s.listen(64)
        listeners.append((s, address))
    counts = {address: 0 for address in addresses}

    def write():
        tmp = counts_path + ".tmp"
        with open(tmp, "w") as f:
            for address in addresses:
                f.write(f"{address} {counts[address]}\n")
        os.rename(tmp, counts_path)

    write()
    print("ready", flush=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([s for s, _ in listeners], [], [], 1.0)
        for s, address in listeners:
            if s in ready:
                connection, _ = s.accept()
                counts[address] += 1
                write()
                try:
                    connection.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 6\r\n\r\nhello\n")
                finally:
                    connection.close()


if __name__ == "__main__":
    main()
