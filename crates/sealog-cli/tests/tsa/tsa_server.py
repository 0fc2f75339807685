"""A local RFC 3161 time-stamping authority for Sealog's tests: `openssl ts -reply` behind a
tiny HTTP server (standard library only).

Usage: tsa_server.py DIR MODE, where DIR holds tsa.pem and tsa.key (the TSA's certificate,
with the critical timeStamping extended key usage, and its key) and MODE is one of
  ok           answer every query with openssl's reply to it;
  garbage      answer 200 with bytes that are no TimeStampResp;
  wrong-nonce  answer with a valid reply over the same imprint but another nonce.
With TSA_REQUIRE_HEADER='Name: value' in the environment, a query without that header gets 401.
Prints `listening PORT` once it accepts connections.
"""

import http.server
import os
import re
import subprocess
import sys
import tempfile
import threading

CONFIG = """
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = {dir}
serial = {dir}/tsaserial
crypto_device = builtin
signer_cert = {dir}/tsa.pem
signer_key = {dir}/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def openssl(*args: str) -> bytes:
    """Runs openssl with `args`; its stdout, or an error with its stderr."""
    done = subprocess.run(["openssl", *args], capture_output=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.decode(errors="replace"))
    return done.stdout


def imprint_hex(query: str) -> str:
    """The hashed message of a query file, as openssl's ASN.1 dump shows it."""
    dump = openssl("asn1parse", "-inform", "DER", "-in", query).decode()
    found = re.search(r"OCTET STRING\s+\[HEX DUMP\]:([0-9A-F]+)", dump)
    if found is None:
        raise RuntimeError("no imprint in the query")
    return found.group(1)


class Tsa:
    """openssl ts -reply over DIR's certificate and key, one reply at a time."""

    def __init__(self, directory: str, mode: str) -> None:
        self.dir = directory
        self.mode = mode
        self.config = os.path.join(directory, "tsa.cnf")
        with open(self.config, "w", encoding="ascii") as f:
            f.write(CONFIG.format(dir=directory))
        with open(os.path.join(directory, "tsaserial"), "w", encoding="ascii") as f:
            f.write("01\n")
        self.lock = threading.Lock()

    def reply(self, query: bytes) -> bytes:
        """The reply to one DER TimeStampReq, as this TSA's mode has it."""
        if self.mode == "garbage":
            return b"this is not a time-stamp"
        with self.lock, tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "query.tsq")
            with open(path, "wb") as f:
                f.write(query)
            if self.mode == "wrong-nonce":
                # A fresh query over the same imprint: openssl gives it a random nonce.
                other = os.path.join(tmp, "other.tsq")
                openssl("ts", "-query", "-digest", imprint_hex(path), "-sha256", "-cert",
                        "-out", other)
                path = other
            out = os.path.join(tmp, "reply.tsr")
            openssl("ts", "-reply", "-config", self.config, "-queryfile", path, "-out", out)
            with open(out, "rb") as f:
                return f.read()


def handler(tsa: Tsa) -> type[http.server.BaseHTTPRequestHandler]:
    """The request handler class serving `tsa`."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
            length = int(self.headers.get("Content-Length", "0"))
            query = self.rfile.read(length)
            required = os.environ.get("TSA_REQUIRE_HEADER")
            if required is not None:
                name, _, value = required.partition(":")
                if self.headers.get(name.strip()) != value.strip():
                    self.send_error(401, f"{name.strip()} required")
                    return
            if self.headers.get("Content-Type") != "application/timestamp-query":
                self.send_error(415, "expected application/timestamp-query")
                return
            try:
                body = tsa.reply(query)
            except RuntimeError as e:
                lines = str(e).strip().splitlines()
                self.send_error(400, lines[-1] if lines else "bad query")
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    return Handler


def main() -> None:
    """Serves until killed."""
    directory, mode = sys.argv[1], sys.argv[2]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler(Tsa(directory, mode)))
    print(f"listening {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
