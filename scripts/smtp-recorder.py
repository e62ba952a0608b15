#!/usr/bin/env python3
"""An SMTP server for tests (aiosmtpd): stores every message it receives.

Usage: smtp-recorder.py PORT OUTDIR [--mode none|starttls|tls]
                        [--cert CERT --key KEY] [--auth USER:PASSWORD]

Each message is written to OUTDIR as N.eml, with its envelope (sender,
recipients, the AUTH login used) in N.json. With --mode starttls the server
requires STARTTLS before MAIL; with --mode tls the connection is TLS from the
start. With --auth, AUTH is required and only that login is accepted.
"""

import argparse
import email
import email.policy
import json
import os
import ssl
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

parser = argparse.ArgumentParser()
parser.add_argument("port", type=int)
parser.add_argument("outdir")
parser.add_argument("--mode", default="none", choices=["none", "starttls", "tls"])
parser.add_argument("--cert")
parser.add_argument("--key")
parser.add_argument("--auth")
args = parser.parse_args()

LOCK = threading.Lock()
COUNT = [0]


class Recorder:
    async def handle_DATA(self, server, session, envelope):
        with LOCK:
            COUNT[0] += 1
            n = COUNT[0]
        base = os.path.join(args.outdir, str(n))
        with open(base + ".eml.tmp", "wb") as out:
            out.write(envelope.original_content or envelope.content)
        with open(base + ".json", "w", encoding="utf-8") as out:
            json.dump(
                {
                    "mail_from": envelope.mail_from,
                    "rcpt_tos": envelope.rcpt_tos,
                    "authenticated": bool(session.authenticated),
                    # STARTTLS sets session.ssl; implicit TLS shows on the transport.
                    "tls": session.ssl is not None
                    or server.transport.get_extra_info("ssl_object") is not None,
                },
                out,
            )
        # Attachments decoded by Python's own MIME parser, so the tests
        # check what a mail client would save.
        parsed = email.message_from_bytes(
            envelope.original_content or envelope.content, policy=email.policy.default
        )
        text = parsed.get_body(preferencelist=("plain",))
        with open(base + ".body.txt", "w", encoding="utf-8") as out:
            out.write(text.get_content() if text is not None else "")
        for part in parsed.iter_attachments():
            name = os.path.basename(part.get_filename() or "unnamed")
            with open(base + ".att." + name, "wb") as out:
                out.write(part.get_payload(decode=True))
        # The .eml appears last and whole: tests poll for it.
        os.rename(base + ".eml.tmp", base + ".eml")
        return "250 Message accepted for delivery"


def authenticator(server, session, envelope, mechanism, auth_data):
    user, password = args.auth.split(":", 1)
    ok = auth_data.login.decode() == user and auth_data.password.decode() == password
    return AuthResult(success=ok, handled=False)


context = None
if args.cert:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)

kwargs = {}
if args.mode == "starttls":
    kwargs.update(tls_context=context, require_starttls=True)
elif args.mode == "tls":
    kwargs.update(ssl_context=context)
if args.auth:
    kwargs.update(
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=args.mode != "none",
    )

controller = Controller(Recorder(), hostname="127.0.0.1", port=args.port, **kwargs)
controller.start()
try:
    while True:
        time.sleep(3600)
finally:
    controller.stop()
