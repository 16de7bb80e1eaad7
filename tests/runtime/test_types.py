"""The package type-checks: public functions carry types and mypy agrees with them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_mypy_passes_on_the_package(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "kubevigil", "--cache-dir", str(ROOT / ".mypy_cache")],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]


def test_strict_typing_covers_every_layer_but_the_emulator() -> None:
    """kube/, delivery/, roles/ (any role folder added later too) and config/ are checked with mypy --strict."""
    import tomllib

    mypy = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert mypy["strict"] is True
    relaxed = [module for override in mypy.get("overrides", []) for module in override["module"]]
    strict_layers = ("kubevigil.kube", "kubevigil.delivery", "kubevigil.roles", "kubevigil.config")
    assert not [m for m in relaxed if m.startswith(strict_layers) or m == "kubevigil.*"], relaxed
