"""A stand-in for ``sealog serve`` that acknowledges every event, for ``bench_sdk.py --ack-server``.

It lets the ``record()`` caller-cost benchmark run with the delivery thread doing its real work
(encoding each batch, commitments included, gzip, POST, reading the per-event results) where no
``sealog`` binary has been built. It stores nothing and checks nothing, so it says nothing about
delivered events/s: that part of the benchmark needs the real server. Prints its port, then
serves until killed.
"""

from __future__ import annotations

import gzip
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Ack(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's transport expects

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        events = json.loads(body)["events"]
        results = [{"id": e["id"], "status": "accepted"} for e in events]
        out = json.dumps({"results": results}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ack)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
