"""find_config_path: option, environment variables, then the default files; the error lists where it looked."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubevigil.config import ConfigError, find_config_path


def test_explicit_path_wins(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("")
    (tmp_path / "config.yaml").write_text("")
    env = {"KUBEVIGIL_CONFIG": str(tmp_path / "config.yaml")}
    assert find_config_path("a.yaml", env, cwd=tmp_path) == tmp_path / "a.yaml"


def test_environment_variables_in_order(tmp_path: Path) -> None:
    (tmp_path / "k.yaml").write_text("")
    (tmp_path / "ks2cw.yaml").write_text("")
    both = {"KUBEVIGIL_CONFIG": str(tmp_path / "k.yaml"), "KS2CW_CONFIG_PATH": str(tmp_path / "ks2cw.yaml")}
    assert find_config_path(None, both, cwd=tmp_path) == tmp_path / "k.yaml"
    assert find_config_path(None, {"KS2CW_CONFIG_PATH": "ks2cw.yaml"}, cwd=tmp_path) == tmp_path / "ks2cw.yaml"


def test_default_file_in_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("")
    assert find_config_path(None, {}, cwd=tmp_path) == tmp_path / "config.yaml"


def test_named_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        find_config_path(None, {"KUBEVIGIL_CONFIG": "/nonexistent/c.yaml"}, cwd=tmp_path)
    assert str(caught.value) == "/nonexistent/c.yaml: config file from $KUBEVIGIL_CONFIG does not exist"


@pytest.mark.skipif(Path("/etc/kubevigil/config.yaml").exists(), reason="this machine has a system config")
def test_nothing_found_lists_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        find_config_path(None, {}, cwd=tmp_path)
    assert str(caught.value) == (
        "no config file found; looked at: --config (not set), $KUBEVIGIL_CONFIG (not set), $KS2CW_CONFIG_PATH (not set), "
        f"{tmp_path / 'config.yaml'} (no such file), /etc/kubevigil/config.yaml (no such file)"
    )
