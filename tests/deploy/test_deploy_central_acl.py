"""add-kiosk.sh and remove-kiosk.sh on the files they edit (the broker's view of
the result is in test_deploy_brokers.py)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from deploy_testkit import DEPLOY, render

CENTRAL = DEPLOY / "mosquitto" / "central"


def run(script: str, conf_dir: Path, *args: str, password: str | None = "pw"):
    env = {**os.environ, "CONF_DIR": str(conf_dir)}
    env.pop("KIOSK_PASSWORD", None)
    if password is not None:
        env["KIOSK_PASSWORD"] = password
    return subprocess.run([str(CENTRAL / script), *args], env=env, capture_output=True,
                          text=True, timeout=10)


@pytest.fixture
def conf_dir(tmp_path: Path) -> Path:
    render(CENTRAL / "acl.base", tmp_path / "acl",
           {"TOPIC_ROOT": "checkin/v1", "CENTRAL_USER": "central"})
    return tmp_path


def users_in(path: Path) -> list[str]:
    return [line.split()[1] for line in path.read_text().splitlines() if line.startswith("user ")]


def test_add_kiosk_twice_keeps_one_block_and_one_password(conf_dir: Path) -> None:
    assert run("add-kiosk.sh", conf_dir, "krk-01", "kiosk-1").returncode == 0
    assert run("add-kiosk.sh", conf_dir, "waw-02", "kiosk-1").returncode == 0
    once = (conf_dir / "acl").read_text()
    assert run("add-kiosk.sh", conf_dir, "krk-01", "kiosk-1").returncode == 0
    acl = (conf_dir / "acl").read_text()
    assert sorted(users_in(conf_dir / "acl")) == ["central", "krk-01.kiosk-1", "waw-02.kiosk-1"]
    assert sorted(acl.splitlines()) == sorted(once.splitlines())
    names = [line.split(":")[0] for line in (conf_dir / "passwd").read_text().splitlines()]
    assert sorted(names) == ["krk-01.kiosk-1", "waw-02.kiosk-1"]
    assert "topic write checkin/v1/branches/krk-01/kiosks/kiosk-1/events" in acl
    assert "topic read checkin/v1/branches/krk-01/bookings" in acl


def test_add_kiosk_generates_and_prints_a_password_when_none_is_given(conf_dir: Path) -> None:
    result = run("add-kiosk.sh", conf_dir, "krk-01", "kiosk-1", password=None)
    assert result.returncode == 0
    printed = result.stdout.strip().splitlines()[-1].rsplit(" ", 1)[1]
    assert len(printed) == 36 and int(printed, 16) >= 0


@pytest.mark.parametrize("ids", [("krk-01", "kiosk+"), ("krk/01", "k1"), ("KRK", "k1"),
                                 ("krk-01", "#"), ("a" * 33, "k1")])
def test_add_kiosk_refuses_ids_that_could_widen_the_acl(conf_dir: Path, ids) -> None:
    before = (conf_dir / "acl").read_text()
    result = run("add-kiosk.sh", conf_dir, *ids)
    assert result.returncode == 65
    assert "is not a branch or kiosk id" in result.stderr
    assert (conf_dir / "acl").read_text() == before


def test_remove_kiosk_takes_out_only_that_kiosk(conf_dir: Path) -> None:
    run("add-kiosk.sh", conf_dir, "krk-01", "kiosk-1")
    run("add-kiosk.sh", conf_dir, "waw-02", "kiosk-1")
    result = run("remove-kiosk.sh", conf_dir, "krk-01", "kiosk-1")
    assert result.returncode == 0, result.stderr
    assert users_in(conf_dir / "acl") == ["central", "waw-02.kiosk-1"]
    assert "branches/krk-01/" not in (conf_dir / "acl").read_text()
    assert (conf_dir / "passwd").read_text().startswith("waw-02.kiosk-1:")
