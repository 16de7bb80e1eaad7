"""What keeps the process from starting: a problem on the machine the user fixes, told in one line."""

from __future__ import annotations

from pathlib import Path


class StartupError(Exception):
    """The command line prints the message as one line (no traceback) and exits 1."""


def os_reason(exc: OSError) -> str:
    """`Permission denied`, not `[Errno 13] Permission denied: '/x'` (the caller names the path)."""
    return exc.strerror or type(exc).__name__


def prepare_directory(path: Path, what: str) -> None:
    """Create `path` (and its parents) unless it is a directory already; StartupError naming `what` otherwise."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise StartupError(f"{what} {path}: exists and is not a directory") from None
    except OSError as exc:
        raise StartupError(f"{what} {path}: cannot create it: {os_reason(exc)}") from None
