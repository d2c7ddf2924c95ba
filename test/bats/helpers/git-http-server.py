#!/usr/bin/env python3
"""A git smart-HTTP server for the bats tests: `git http-backend` (CGI)
behind Python's http.server, with HTTP basic auth, on an address the test
chooses (loopback or the docker0 gateway). Also serves static files from
--static under /static/ (the JetBrains backend tarball), and can slow its
responses down (--slow-ms) so a test can kill a clone half-way.

Usage: git-http-server.py --root DIR --bind ADDR --port-file FILE
          --user U --password-file F [--static DIR] [--slow-ms N]
"""
import argparse
import base64
import os
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password-file", required=True)
    ap.add_argument("--static", default="")
    ap.add_argument("--slow-ms", type=int, default=0)
    args = ap.parse_args()
    with open(args.password_file) as f:
        password = f.read().strip()
    expected = "Basic " + base64.b64encode(f"{args.user}:{password}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, fmt, *a):  # to stderr, without credentials
            sys.stderr.write("git-http-server: " + (fmt % a) + "\n")

        def _static(self):
            name = self.path[len("/static/"):].split("?")[0]
            path = os.path.realpath(os.path.join(args.static, name))
            if not args.static or not path.startswith(os.path.realpath(args.static) + os.sep) or not os.path.isfile(path):
                self.send_error(404)
                return
            with open(path, "rb") as f:
                data = f.read()
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _git(self):
            if self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            path, _, query = self.path.partition("?")
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "GIT_PROJECT_ROOT": args.root,
                "GIT_HTTP_EXPORT_ALL": "1",
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "REQUEST_METHOD": self.command,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "REMOTE_USER": args.user,
                "REMOTE_ADDR": self.client_address[0],
                "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
                "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            }
            out = subprocess.run(["git", "http-backend"], input=body, env=env,
                                 stdout=subprocess.PIPE, check=False).stdout
            head, _, payload = out.partition(b"\r\n\r\n")
            if not _:
                head, _, payload = out.partition(b"\n\n")
            status = 200
            headers = []
            for line in head.decode("latin-1").splitlines():
                k, _, v = line.partition(":")
                if k.lower() == "status":
                    status = int(v.strip().split()[0])
                elif k:
                    headers.append((k, v.strip()))
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if args.slow_ms and len(payload) > 4096:
                for i in range(0, len(payload), 4096):
                    self.wfile.write(payload[i:i + 4096])
                    self.wfile.flush()
                    time.sleep(args.slow_ms / 1000.0)
            else:
                self.wfile.write(payload)

        def do_GET(self):
            if self.path.startswith("/static/"):
                self._static()
            else:
                self._git()

        def do_POST(self):
            self._git()

    srv = ThreadingHTTPServer((args.bind, args.port), Handler)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(args.port_file + ".tmp", args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
