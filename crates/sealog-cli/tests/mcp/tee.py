"""`tee.py PREFIX CMD ARGS…`: runs CMD, copying stdin to it and its stdout back unchanged, and
appends the bytes of each direction to PREFIX.up and PREFIX.down."""

import os
import subprocess
import sys
import threading

prefix = sys.argv[1]
child = subprocess.Popen(sys.argv[2:], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)


def copy(src: int, dst: int, log: str, close: bool) -> None:
    with open(log, "ab", buffering=0) as f:
        while chunk := os.read(src, 65536):
            f.write(chunk)
            os.write(dst, chunk)
    if close:
        os.close(dst)


assert child.stdin is not None and child.stdout is not None
up = threading.Thread(target=copy, args=(0, child.stdin.fileno(), prefix + ".up", True))
up.daemon = True
up.start()
copy(child.stdout.fileno(), 1, prefix + ".down", False)
sys.exit(child.wait())
