#!/usr/bin/env python3
"""Tiny HTTP server for the safesock compatibility kit.

usage: server.py PORT ROOTDIR [ADDR] [--lifetime SECONDS]

Serves ROOTDIR (files, and index.html for directories, so it works as a
PEP 503 simple index for pip and as a git dumb-HTTP server), answers
"/" with the body "hello\n", and runs `git http-backend` for /smart/...
(git smart HTTP on the repositories in ROOTDIR/git).  ADDR defaults to 127.0.0.2; "::1" works too.
It exits by itself after --lifetime seconds (default 600).
"""
import http.server
import os
import socket
import subprocess
import sys
import threading
import urllib.parse


class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def _hello(self, with_body):
        body = b"hello\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def do_GET(self):
        if self.path.split("?", 1)[0] == "/":
            return self._hello(True)
        if self.path.startswith("/smart/"):
            return self._git_http_backend()
        return super().do_GET()

    def do_POST(self):
        if self.path.startswith("/smart/"):
            return self._git_http_backend()
        self.send_error(405)

    def _git_http_backend(self):
        """Smart HTTP: /smart/REPO... runs `git http-backend` (CGI) on ROOTDIR/git."""
        path, _, query = self.path[len("/smart"):].partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while True:  # bounded by the socket timeout and the chunk sizes
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                body += self.rfile.read(size)
                self.rfile.readline()
        else:
            body = self.rfile.read(length) if length else b""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": os.path.join(self.directory, "git"),
            "GIT_HTTP_EXPORT_ALL": "1",
            "GIT_CONFIG_NOSYSTEM": "1",
            "HOME": self.directory,
            "REQUEST_METHOD": self.command,
            "PATH_INFO": urllib.parse.unquote(path),
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": self.client_address[0],
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": "HTTP/1.0",
        }
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        try:
            out = subprocess.run(["git", "http-backend"], input=body, env=env,
                                 stdout=subprocess.PIPE, timeout=30, check=False).stdout
        except subprocess.TimeoutExpired:
            return self.send_error(504)
        head, _, payload = out.partition(b"\r\n\r\n")
        if not _:
            head, _, payload = out.partition(b"\n\n")
        status, headers = 200, []
        for line in head.decode("latin-1").splitlines():
            k, _, v = line.partition(":")
            if k.lower() == "status":
                status = int(v.split()[0])
            elif k:
                headers.append((k, v.strip()))
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_HEAD(self):
        if self.path.split("?", 1)[0] == "/":
            return self._hello(False)
        return super().do_HEAD()

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.client_address[0], fmt % args))


def main(argv):
    lifetime = 600.0
    if "--lifetime" in argv:
        i = argv.index("--lifetime")
        lifetime = float(argv[i + 1])
        del argv[i:i + 2]
    if len(argv) not in (2, 3):
        sys.exit(__doc__)
    port, root = int(argv[0]), os.path.abspath(argv[1])
    addr = argv[2] if len(argv) == 3 else "127.0.0.2"
    if ":" not in addr and not addr.startswith("127."):
        sys.exit("server.py: refusing a non-loopback address %s" % addr)

    class Server(http.server.ThreadingHTTPServer):
        address_family = socket.AF_INET6 if ":" in addr else socket.AF_INET
        daemon_threads = True

    handler = lambda *a, **k: Handler(*a, directory=root, **k)
    srv = Server((addr, port), handler)
    threading.Timer(lifetime, srv.shutdown).start()
    print("serving %s on %s port %d" % (root, addr, srv.server_address[1]), flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
