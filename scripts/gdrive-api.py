#!/usr/bin/env python3
"""A local stand-in for the Google Drive v3 API, for tests: it checks that
each request follows the documented API (OAuth refresh, files.list query
syntax, multipart/related and resumable uploads with 256 KiB-aligned
Content-Range chunks, files.delete) and answers as Drive does. Anything off is
answered 400 with the reason, and recorded.

Usage: gdrive-api.py PORT ROOT RECORD_FILE CLIENT_ID CLIENT_SECRET REFRESH_TOKEN

Files live in ROOT/<id> with their metadata in ROOT/<id>.json. The folder
"folder-1" exists. Every request is appended to RECORD_FILE as a JSON line.

Documented at https://developers.google.com/drive/api/reference/rest/v3/files,
https://developers.google.com/drive/api/guides/manage-uploads and
https://developers.google.com/identity/protocols/oauth2/web-server#offline.
"""

import json
import os
import re
import secrets
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, ROOT, RECORD, CLIENT_ID, CLIENT_SECRET, REFRESH = sys.argv[1:7]
LOCK = threading.Lock()
TOKENS = set()
SESSIONS = {}
FOLDERS = {"folder-1"}
CHUNK_ALIGN = 256 * 1024


class Refused(Exception):
    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def files():
    out = []
    for name in os.listdir(ROOT):
        if name.endswith(".json"):
            with open(os.path.join(ROOT, name), encoding="utf-8") as f:
                out.append(json.load(f))
    return out


def store(meta, data):
    fid = "file-" + secrets.token_hex(6)
    meta = dict(meta, id=fid, size=str(len(data)))
    with open(os.path.join(ROOT, fid), "wb") as f:
        f.write(data)
    with open(os.path.join(ROOT, fid + ".json"), "w", encoding="utf-8") as f:
        json.dump(meta, f)
    return meta


def check_metadata(meta):
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta["name"]:
        raise Refused(400, "metadata needs a name")
    parents = meta.get("parents")
    if not isinstance(parents, list) or len(parents) != 1 or parents[0] not in FOLDERS:
        raise Refused(404, f"parents {parents!r}: file not found")
    props = meta.get("appProperties", {})
    if not isinstance(props, dict) or not all(isinstance(v, str) for v in props.values()):
        raise Refused(400, "appProperties must map strings to strings")


# The query forms cronport uses, in Drive's query language.
TERM = re.compile(
    r"^'(?P<parent>[^']+)' in parents"
    r"(?: and name = '(?P<name>(?:[^'\\]|\\.)*)')?"
    r"(?: and appProperties has \{ key='(?P<key>[^']+)' and value='(?P<value>(?:[^'\\]|\\.)*)' \})?"
    r" and trashed = false$"
)


def unescape(s):
    return None if s is None else re.sub(r"\\(.)", r"\1", s)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def record(self, status, reason):
        with open(RECORD, "a", encoding="utf-8") as out:
            out.write(json.dumps({"method": self.command, "endpoint": self.path.split("?")[0],
                                  "status": status, "reason": reason}) + "\n")

    def reply(self, status, body, headers=()):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def bearer(self):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in TOKENS:
            raise Refused(401, "missing or unknown access token")

    def handle_any(self):
        try:
            with LOCK:
                status, body, headers = self.route()
            self.record(status, "ok")
            self.reply(status, body, headers)
        except Refused as r:
            self.body()
            self.record(r.status, r.reason)
            self.reply(r.status, {"error": {"code": r.status, "message": r.reason}})

    do_GET = do_POST = do_PUT = do_DELETE = handle_any

    def route(self):
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        if url.path == "/token" and self.command == "POST":
            return self.token()
        self.bearer()
        if url.path == "/drive/v3/files" and self.command == "GET":
            return self.list(query)
        if url.path == "/upload/drive/v3/files" and self.command == "POST":
            kind = query.get("uploadType")
            if kind == "multipart":
                return self.multipart()
            if kind == "resumable":
                return self.start_resumable()
            raise Refused(400, f"uploadType {kind!r}")
        if url.path == "/upload/drive/v3/files" and self.command == "PUT":
            return self.chunk(query.get("upload_id"))
        m = re.fullmatch(r"/drive/v3/files/([\w-]+)", url.path)
        if m and self.command == "DELETE":
            fid = m.group(1)
            if not os.path.exists(os.path.join(ROOT, fid + ".json")):
                raise Refused(404, "file not found")
            os.remove(os.path.join(ROOT, fid))
            os.remove(os.path.join(ROOT, fid + ".json"))
            return 204, None, ()
        raise Refused(404, f"no such endpoint {self.command} {url.path}")

    def token(self):
        if self.headers.get("Content-Type", "").split(";")[0] != "application/x-www-form-urlencoded":
            raise Refused(400, "the token endpoint takes a form body")
        form = dict(urllib.parse.parse_qsl(self.body().decode()))
        if form.get("grant_type") != "refresh_token":
            raise Refused(400, "unsupported_grant_type")
        if (form.get("client_id"), form.get("client_secret"), form.get("refresh_token")) != (
                CLIENT_ID, CLIENT_SECRET, REFRESH):
            raise Refused(400, "invalid_grant")
        token = "ya29." + secrets.token_hex(12)
        TOKENS.add(token)
        return 200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}, ()

    def list(self, query):
        m = TERM.match(query.get("q", ""))
        if not m:
            raise Refused(400, f"query not understood: {query.get('q')!r}")
        if "fields" in query and "files(" not in query["fields"]:
            raise Refused(400, "fields must select files(...)")
        name, key, value = unescape(m.group("name")), m.group("key"), unescape(m.group("value"))
        found = [f for f in files()
                 if m.group("parent") in f.get("parents", [])
                 and (name is None or f["name"] == name)
                 and (key is None or f.get("appProperties", {}).get(key) == value)]
        return 200, {"files": found}, ()

    def multipart(self):
        ctype = self.headers.get("Content-Type", "")
        m = re.fullmatch(r"multipart/related; ?boundary=\"?([^\";]+)\"?", ctype)
        if not m:
            raise Refused(400, "multipart uploads take multipart/related with a boundary")
        if int(self.headers.get("Content-Length") or 0) > 5 * 1024 * 1024 + 64 * 1024:
            raise Refused(400, "multipart uploads are for files of 5 MB or less; use resumable")
        boundary = m.group(1).encode()
        parts = self.body().split(b"--" + boundary)
        if len(parts) != 4 or not parts[3].startswith(b"--"):
            raise Refused(400, "expected exactly two parts and a closing boundary")
        head1, _, meta = parts[1].partition(b"\r\n\r\n")
        head2, _, data = parts[2].partition(b"\r\n\r\n")
        if b"application/json" not in head1.lower():
            raise Refused(400, "the first part must be the JSON metadata")
        if b"content-type:" not in head2.lower():
            raise Refused(400, "the media part needs a Content-Type")
        if not data.endswith(b"\r\n"):
            raise Refused(400, "parts end with CRLF before the boundary")
        meta = json.loads(meta.strip())
        check_metadata(meta)
        return 200, store(meta, data[:-2]), ()

    def start_resumable(self):
        if self.headers.get("Content-Type", "").split(";")[0] != "application/json":
            raise Refused(400, "the resumable start takes the JSON metadata")
        total = self.headers.get("X-Upload-Content-Length")
        if total is None or not total.isdigit():
            raise Refused(400, "X-Upload-Content-Length is required")
        if not self.headers.get("X-Upload-Content-Type"):
            raise Refused(400, "X-Upload-Content-Type is required")
        meta = json.loads(self.body())
        check_metadata(meta)
        sid = secrets.token_hex(8)
        SESSIONS[sid] = {"meta": meta, "total": int(total), "data": bytearray()}
        location = f"http://127.0.0.1:{PORT}/upload/drive/v3/files?uploadType=resumable&upload_id={sid}"
        return 200, None, (("Location", location),)

    def chunk(self, sid):
        session = SESSIONS.get(sid)
        if session is None:
            raise Refused(404, "unknown upload session")
        m = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", self.headers.get("Content-Range", ""))
        if not m:
            raise Refused(400, "Content-Range must be bytes START-END/TOTAL")
        start, end, total = map(int, m.groups())
        data = self.body()
        if total != session["total"] or start != len(session["data"]) or end - start + 1 != len(data):
            raise Refused(400, f"Content-Range {start}-{end}/{total} does not continue the upload")
        last = end + 1 == total
        if not last and len(data) % CHUNK_ALIGN:
            raise Refused(400, "chunks other than the last must be multiples of 256 KiB")
        session["data"].extend(data)
        if not last:
            return 308, None, (("Range", f"bytes=0-{end}"),)
        del SESSIONS[sid]
        return 200, store(session["meta"], bytes(session["data"])), ()


os.makedirs(ROOT, exist_ok=True)
ThreadingHTTPServer(("127.0.0.1", int(PORT)), Handler).serve_forever()
