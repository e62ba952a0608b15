#!/usr/bin/env python3
"""A webhook receiver for tests: records every request and answers with
scripted statuses.

Usage: webhook-recorder.py PORT RECORD_FILE [STATUS ...]

Each request is appended to RECORD_FILE as one JSON line (method, path,
headers, body as base64). The Nth request is answered with the Nth STATUS
(after the list runs out, 200). A status written as "sleep:SECONDS" makes the
server wait that long before answering 200, for timeout tests.
"""

import base64
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1])
RECORD = sys.argv[2]
SCRIPT = list(sys.argv[3:])
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with LOCK:
            step = SCRIPT.pop(0) if SCRIPT else "200"
            with open(RECORD, "a", encoding="utf-8") as out:
                out.write(
                    json.dumps(
                        {
                            "method": self.command,
                            "path": self.path,
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "body": base64.b64encode(body).decode("ascii"),
                            "answered": step,
                        }
                    )
                    + "\n"
                )
        status = 200
        if step.startswith("sleep:"):
            time.sleep(float(step.split(":", 1)[1]))
        else:
            status = int(step)
        payload = b'{"ok":true}' if status < 400 else b'{"error":"scripted failure"}'
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass

    do_POST = _handle
    do_HEAD = _handle
    do_GET = _handle

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
