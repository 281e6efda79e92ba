"""A loopback webhook receiver that prints the alerts the operator sends.

For the demo and for trying alerts out without a Slack or Teams workspace::

    python -m envpayload.devtools.webhook_receiver --port 8765
    OPERATIONS_ALERT_WEBHOOK=http://127.0.0.1:8765/alerts envpayload run -n demo

It understands the three alert formats (generic, Slack, Teams) and prints one line per
alert with its details. ``--status 503`` and ``--delay 30`` make it a broken or slow
webhook, to see delivery retry without holding up syncs. The tests use
:class:`AlertReceiver` the same way, in a thread.

It listens on 127.0.0.1 only: it is a development tool, not a service.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Body = dict[str, Any]


class AlertReceiver:
    """An HTTP server on loopback that keeps every JSON body posted to it."""

    def __init__(
        self,
        port: int = 0,
        *,
        status: int = 200,
        delay: float = 0.0,
        on_alert: Callable[[Body], None] | None = None,
    ) -> None:
        self.status = status
        self.delay = delay
        self._on_alert = on_alert
        self._bodies: list[Body] = []
        self._attempts = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/alerts"

    @property
    def received(self) -> list[Body]:
        """Bodies of the alerts accepted so far, oldest first."""
        with self._lock:
            return list(self._bodies)

    @property
    def attempts(self) -> int:
        """Every POST, whether it was accepted or not."""
        with self._lock:
            return self._attempts

    def start(self) -> AlertReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> AlertReceiver:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _record(self, body: Body) -> int:
        """Count an attempt; keep the body when answering with success."""
        with self._lock:
            self._attempts += 1
            status = self.status
            if 200 <= status < 300:
                self._bodies.append(body)
        if 200 <= status < 300 and self._on_alert is not None:
            self._on_alert(body)
        return status

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if receiver.delay:
                    time.sleep(receiver.delay)
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"unparsed": raw.decode(errors="replace")}
                status = receiver._record(body)
                # A slow receiver's sender may have given up by now (the tests make it
                # do so on purpose): nobody is left to answer, and that is no error.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.send_response(status)
                    self.send_header("Content-Type", "text/plain")
                    self.end_headers()
                    self.wfile.write(b"ok" if status < 300 else b"error")

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the alerts themselves are the output

        return Handler


def describe(body: Body) -> str:
    """One alert in any of the three formats as a few lines of text."""
    if body.get("schema", "").startswith("envpayload.io/alert/"):
        keys = f"\n  keys: {', '.join(body['keys'])}" if body.get("keys") else ""
        return (
            f"[{body['kind']}] {body['summary']}\n  {body['details']}"
            f"\n  reason: {body['reason']}{keys}"
        )
    if "blocks" in body:
        texts = [b["text"]["text"] for b in body["blocks"] if "text" in b]
        return "[slack] " + "\n  ".join(texts)
    if body.get("type") == "message":
        card = body["attachments"][0]["content"]
        lines = [b["text"] for b in card["body"] if b.get("type") == "TextBlock"]
        return "[teams] " + "\n  ".join(lines)
    return json.dumps(body)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m envpayload.devtools.webhook_receiver", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (%(default)s)")
    parser.add_argument("--status", type=int, default=200, help="HTTP status to answer with")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to wait before answering")
    parser.add_argument("--json", action="store_true", help="print the bodies as JSON")
    args = parser.parse_args(argv)

    def show(body: Body) -> None:
        print(json.dumps(body) if args.json else describe(body), flush=True)

    receiver = AlertReceiver(args.port, status=args.status, delay=args.delay, on_alert=show)
    print(f"Waiting for alerts on {receiver.url}", flush=True)
    with receiver, contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
