#!/usr/bin/env python3
"""A local stand-in for the Dropbox HTTP API, for tests: it checks that each
request follows the documented API (endpoints, methods, headers, argument
JSON, OAuth refresh, upload session offsets) and answers as Dropbox does.
Anything off is answered 400 with the reason, and recorded.

Usage: dropbox-api.py PORT ROOT RECORD_FILE APP_KEY APP_SECRET REFRESH_TOKEN

Files are stored under ROOT (Dropbox path /a/b.csv -> ROOT/a/b.csv), with
their client_modified time in ROOT/.meta.json. Every request is appended to
RECORD_FILE as a JSON line (endpoint, status, reason).

Documented at https://www.dropbox.com/developers/documentation/http/documentation
and https://developers.dropbox.com/oauth-guide (token refresh).
"""

import base64
import json
import os
import secrets
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, ROOT, RECORD, APP_KEY, APP_SECRET, REFRESH = sys.argv[1:7]
LOCK = threading.Lock()
TOKENS = set()
SESSIONS = {}
META_FILE = os.path.join(ROOT, ".meta.json")


def load_meta():
    try:
        with open(META_FILE, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def save_meta(meta):
    with open(META_FILE, "w", encoding="utf-8") as f:
        json.dump(meta, f)


def local(path):
    return os.path.join(ROOT, path.lstrip("/"))


def valid_path(path):
    return isinstance(path, str) and path.startswith("/") and "//" not in path and ".." not in path.split("/")


def metadata(path, meta):
    return {
        ".tag": "file",
        "name": path.rsplit("/", 1)[-1],
        "path_display": path,
        "path_lower": path.lower(),
        "id": "id:" + base64.urlsafe_b64encode(path.encode()).decode().rstrip("="),
        "client_modified": meta.get(path, {}).get("client_modified"),
        "server_modified": meta.get(path, {}).get("client_modified"),
        "size": os.path.getsize(local(path)),
    }


class Refused(Exception):
    def __init__(self, status, reason, body=None):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.body = body


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def record(self, status, reason):
        with LOCK, open(RECORD, "a", encoding="utf-8") as out:
            out.write(json.dumps({"endpoint": self.path, "status": status, "reason": reason}) + "\n")

    def reply(self, status, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        length = self.headers.get("Content-Length")
        if length is None:
            raise Refused(400, "no Content-Length")
        return self.rfile.read(int(length))

    def bearer(self):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in TOKENS:
            raise Refused(401, "missing or unknown access token", {"error_summary": "invalid_access_token/"})

    def json_arg(self):
        if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
            raise Refused(400, "RPC endpoints take Content-Type: application/json")
        try:
            return json.loads(self.body())
        except ValueError as e:
            raise Refused(400, f"body is not JSON: {e}")

    def api_arg(self):
        if self.headers.get("Content-Type") != "application/octet-stream":
            raise Refused(400, "content endpoints take Content-Type: application/octet-stream")
        raw = self.headers.get("Dropbox-API-Arg")
        if raw is None:
            raise Refused(400, "no Dropbox-API-Arg header")
        if any(ord(c) > 127 for c in raw):
            raise Refused(400, "Dropbox-API-Arg must be ASCII (escape other characters as \\uXXXX)")
        try:
            return json.loads(raw)
        except ValueError as e:
            raise Refused(400, f"Dropbox-API-Arg is not JSON: {e}")

    def do_POST(self):
        try:
            status, body = self.route()
            self.record(status, "ok")
            self.reply(status, body)
        except Refused as r:
            self.record(r.status, r.reason)
            self.reply(r.status, r.body or {"error_summary": r.reason}, "application/json")

    def route(self):
        p = self.path
        if p == "/oauth2/token":
            return self.token()
        self.bearer()
        with LOCK:
            if p == "/2/files/get_metadata":
                return self.get_metadata(self.json_arg())
            if p == "/2/files/upload":
                arg = self.api_arg()
                return self.commit(arg, self.body())
            if p == "/2/files/upload_session/start":
                arg = self.api_arg()
                data = self.body()
                sid = secrets.token_hex(8)
                SESSIONS[sid] = bytearray(data)
                if arg.get("close") not in (None, False, True):
                    raise Refused(400, "close must be a boolean")
                return 200, {"session_id": sid}
            if p == "/2/files/upload_session/append_v2":
                arg = self.api_arg()
                data = self.body()
                session = self.session(arg.get("cursor"))
                session.extend(data)
                return 200, None
            if p == "/2/files/upload_session/finish":
                arg = self.api_arg()
                data = self.body()
                session = self.session(arg.get("cursor"))
                session.extend(data)
                result = self.commit(arg.get("commit") or {}, bytes(session))
                del SESSIONS[arg["cursor"]["session_id"]]
                return result
            if p == "/2/files/delete_v2":
                arg = self.json_arg()
                path = arg.get("path")
                if not valid_path(path) or not os.path.isfile(local(path)):
                    raise Refused(409, "path_lookup/not_found", {"error_summary": "path_lookup/not_found/"})
                meta = load_meta()
                os.remove(local(path))
                meta.pop(path, None)
                save_meta(meta)
                return 200, {"metadata": {".tag": "file", "path_display": path}}
        raise Refused(404, f"no such endpoint {p}")

    def session(self, cursor):
        if not isinstance(cursor, dict) or cursor.get("session_id") not in SESSIONS:
            raise Refused(409, "lookup_failed/not_found", {"error_summary": "lookup_failed/not_found/"})
        session = SESSIONS[cursor["session_id"]]
        if cursor.get("offset") != len(session):
            raise Refused(409, f"lookup_failed/incorrect_offset: expected {len(session)}",
                          {"error_summary": "lookup_failed/incorrect_offset/",
                           "error": {"correct_offset": len(session)}})
        return session

    def token(self):
        if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
            raise Refused(400, "the token endpoint takes a form body")
        form = dict(urllib.parse.parse_qsl(self.body().decode()))
        key, secret = form.get("client_id"), form.get("client_secret")
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            key, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        if form.get("grant_type") != "refresh_token":
            raise Refused(400, "grant_type must be refresh_token", {"error": "unsupported_grant_type"})
        if form.get("refresh_token") != REFRESH or key != APP_KEY or secret != APP_SECRET:
            raise Refused(400, "bad refresh token or app credentials", {"error": "invalid_grant"})
        token = "sl." + secrets.token_hex(12)
        TOKENS.add(token)
        return 200, {"access_token": token, "token_type": "bearer", "expires_in": 14400}

    def get_metadata(self, arg):
        path = arg.get("path")
        if not valid_path(path):
            raise Refused(400, f"bad path {path!r}")
        if not os.path.isfile(local(path)):
            raise Refused(409, "path/not_found",
                          {"error_summary": "path/not_found/..", "error": {".tag": "path", "path": {".tag": "not_found"}}})
        return 200, metadata(path, load_meta())

    def commit(self, arg, data):
        path = arg.get("path")
        if not valid_path(path):
            raise Refused(400, f"bad path {path!r}")
        mode = arg.get("mode", "add")
        mode = mode if isinstance(mode, str) else mode.get(".tag")
        if mode not in ("add", "overwrite"):
            raise Refused(400, f"unexpected mode {mode!r}")
        cm = arg.get("client_modified")
        if cm is not None and not (len(cm) == 20 and cm.endswith("Z") and cm[10] == "T"):
            raise Refused(400, f"client_modified must be %Y-%m-%dT%H:%M:%SZ, got {cm!r}")
        target = local(path)
        if mode == "add" and os.path.exists(target):
            raise Refused(409, "path/conflict/file", {"error_summary": "path/conflict/file/"})
        os.makedirs(os.path.dirname(target), exist_ok=True)
        tmp = target + ".upload-tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, target)
        meta = load_meta()
        meta[path] = {"client_modified": cm}
        save_meta(meta)
        return 200, metadata(path, meta)


os.makedirs(ROOT, exist_ok=True)
ThreadingHTTPServer(("127.0.0.1", int(PORT)), Handler).serve_forever()
