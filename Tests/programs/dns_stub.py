"""dns_stub: a tiny DNS server for the kernel backstop's tests: answers A
queries for the names it is given over UDP (never, for a name given as
NAME=silent), NXDOMAIN for other names, and
no records for other types. Prints "ready" once bound; at the end prints
how many queries came. Bounded: it stops when its standard input closes,
or after 300 seconds.

    python3 dns_stub.py ADDRESS PORT NAME=IPV4 ...
"""
import select
import socket
import struct
import sys
import time


def answer(query, names):
    ident, flags, qdcount = struct.unpack("!HHH", query[:6])
    # The question: labels up to a zero length, then type and class.
    at, labels = 12, []
    while query[at] != 0:
        labels.append(query[at + 1 : at + 1 + query[at]].decode("ascii").lower())
        at += 1 + query[at]
    qtype, _ = struct.unpack("!HH", query[at + 1 : at + 5])
    question = query[12 : at + 5]
    name = ".".join(labels)
    reply_flags = 0x8180  # response, recursion desired and available
    answers = b""
    if name not in names:
        reply_flags |= 3  # NXDOMAIN
    elif qtype == 1:
        answers = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton(names[name])
    count = 1 if answers else 0
    return struct.pack("!HHHHHH", ident, reply_flags, 1, count, 0, 0) + question + answers


def question_name(query):
    at, labels = 12, []
    while query[at] != 0:
        labels.append(query[at + 1 : at + 1 + query[at]].decode("ascii").lower())
        at += 1 + query[at]
    return ".".join(labels)


def main():
    address, port = sys.argv[1], int(sys.argv[2])
    names = dict(pair.split("=", 1) for pair in sys.argv[3:])
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind((address, port))
    print("ready", flush=True)
    queries, deadline = 0, time.time() + 300
    while time.time() < deadline:
        ready, _, _ = select.select([server, sys.stdin], [], [], 1.0)
        if sys.stdin in ready and not sys.stdin.buffer.read1(1):
            break
        if server in ready:
            query, peer = server.recvfrom(512)
            queries += 1
            try:
                if names.get(question_name(query)) == "silent":
                    continue  # a nameserver that never answers this name
                server.sendto(answer(query, names), peer)
            except (IndexError, struct.error, UnicodeDecodeError):
                pass  # not a query: no answer
    print(queries, flush=True)


main()
