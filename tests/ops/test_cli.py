"""``central ops`` as an operator meets it: help, hashing a password, a config's mistakes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from central.ops.cli import ops_main
from central.ops.passwords import verify_password


def test_help_names_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        ops_main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "central ops" in out and "run" in out and "hash-password" in out
    assert ops_main([]) == 2


def test_hash_password_from_stdin(monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("Zażółć gęślą\n"))
    assert ops_main(["hash-password", "--stdin"]) == 0
    stored = capsys.readouterr().out.strip()
    assert verify_password("Zażółć gęślą", stored)
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    assert ops_main(["hash-password", "--stdin"]) == 2


def test_check_config_names_the_mistake(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "ops.toml"
    path.write_text('[ops]\nlisten = "everywhere"\n', encoding="utf-8")
    assert ops_main(["check-config", "--config", str(path)]) == 2
    assert "ops.listen 'everywhere' must be host:port" in capsys.readouterr().err
    path.write_text('[branches.krk-1]\nname = "Kraków"\nregion = "małopolskie"\n')
    assert ops_main(["check-config", "--config", str(path)]) == 0
    assert "1 branches" in capsys.readouterr().out
    assert ops_main(["run", "--config", str(tmp_path / "missing.toml")]) == 2
    assert "does not exist" in capsys.readouterr().err
