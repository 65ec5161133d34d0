"""What the tests of the key tools share about pseudo-terminals (standard library only)."""

from __future__ import annotations

import errno
import os


def read_terminal(master: int) -> str:
    """Everything written to the pseudo-terminal whose master side is `master`, once its other
    side is closed, with the terminal's line endings made plain."""
    chunks = []
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError as err:  # EIO once the other side is closed and drained
            if err.errno != errno.EIO:
                raise
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode().replace("\r\n", "\n")
