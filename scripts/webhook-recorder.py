#!/usr/bin/env python3
"""A webhook receiver for tests: records every request and answers with
scripted statuses.

Usage: webhook-recorder.py PORT RECORD_FILE [STATUS ...]

Each request is appended to RECORD_FILE as one JSON line (method, path,
headers, body as base64). The Nth request is answered with the Nth STATUS
(after the list runs out, 200). A status written as "sleep:SECONDS" makes the
server wait that long before answering 200, for timeout tests. A status may
carry a Retry-After header: "503,retry-after=2" sends "Retry-After: 2", and
"429,retry-after=date+3" sends the HTTP-date 3 seconds after the answer.
Each record also holds "received", the time the request arrived (Unix
seconds), so tests can measure the waits between retries.
"""

import base64
import email.utils
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
        received = time.time()
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
                            "received": received,
                        }
                    )
                    + "\n"
                )
        status = 200
        retry_after = None
        if step.startswith("sleep:"):
            time.sleep(float(step.split(":", 1)[1]))
        else:
            code, _, option = step.partition(",")
            status = int(code)
            if option.startswith("retry-after="):
                retry_after = option.split("=", 1)[1]
                if retry_after.startswith("date+"):
                    at = time.time() + float(retry_after[len("date+"):])
                    retry_after = email.utils.formatdate(at, usegmt=True)
        payload = b'{"ok":true}' if status < 400 else b'{"error":"scripted failure"}'
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            if retry_after is not None:
                self.send_header("Retry-After", retry_after)
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
