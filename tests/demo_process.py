"""`kubevigil demo` in a subprocess, as a user starts it: its banner read up to "Ctrl-C"."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import IO, Any


def start_demo(out: Path, duration: float, cwd: Path | None = None, stderr: IO[Any] | int = subprocess.PIPE
               ) -> tuple[subprocess.Popen[str], str]:
    """Start the demo on an ephemeral port; returns the process and its banner (the rest of stdout stays unread)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "kubevigil.cli", "demo", "--port", "0", "--out", str(out), "--duration", str(duration)],
        stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=cwd,
    )
    banner = []
    for line in proc.stdout:  # type: ignore[union-attr]
        banner.append(line)
        if "Ctrl-C" in line:
            break
    return proc, "".join(banner)
