"""A misbehaving webhook for the secret-redaction tests (issue 7 §2), run as a real process.

``python leaky_webhook.py MODE SIDE_FILE [PORT]``: records the token and HMAC secret it was
given (its environment) as one JSON line per launch in ``SIDE_FILE`` (outside any report
directory) so the test knows the canaries even when the suite generated them, prints them to
stdout (a launched target's log lands in the report directory), then serves on 127.0.0.1
(``PORT`` or ``$PORT``):

- ``hang``: ``/healthz`` answers, every other request hangs;
- ``reset``: ``/healthz`` answers, every other request has its connection closed unanswered;
- ``crash``: ``/healthz`` answers, the first other request kills the process;
- ``echo``: every request is answered 200 with its own request line and headers (token and
  signature included) — a target that leaks what it was sent;
- ``exit``: exit 1 at once (a launch failure whose log holds the secrets);
- ``record``: only record and print them, exit 0 (a wrapper then starts the real webhook).
"""

from __future__ import annotations

import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODE, SIDE_FILE = sys.argv[1], sys.argv[2]


class Handler(BaseHTTPRequestHandler):
    """Answers per ``MODE``."""

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        if self.path.startswith("/healthz") and MODE != "echo":
            self._answer(200, b'{"ok":true}')
        elif MODE == "hang":
            time.sleep(120)
        elif MODE == "reset":
            self.close_connection = True
            self.connection.close()
        elif MODE == "crash":
            os._exit(3)
        else:
            echo = {"error": f"{self.command} {self.path}", "headers": dict(self.headers)}
            self._answer(200, json.dumps(echo).encode())

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

    def log_message(self, *args: object) -> None:
        print(self.requestline, flush=True)  # the request line holds ?token=


def main() -> None:
    token = os.environ.get("ALCHEMY_WEBHOOK_TOKEN", "")
    secret = os.environ.get("PIMLICO_WEBHOOK_SECRET", "")
    with open(SIDE_FILE, "a") as side:  # one line per launch: variants get their own secrets
        side.write(json.dumps({"token": token, "secret": secret}) + "\n")
    print(f"starting with token={token} secret={secret}", flush=True)
    if MODE == "record":
        return
    if MODE == "exit":
        print(f"fatal: cannot start (token {token})", file=sys.stderr, flush=True)
        sys.exit(1)
    port = int(sys.argv[3] if len(sys.argv) > 3 else os.environ["PORT"])
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
