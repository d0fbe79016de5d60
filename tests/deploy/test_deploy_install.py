"""deploy/pi/install.sh run into a throwaway root (ROOT=...), twice, and the
installed systemd units checked by systemd-analyze in that root."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from deploy_testkit import DEPLOY

INSTALL = DEPLOY / "pi" / "install.sh"
RASPBERRY_PI_OS = (
    'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_CODENAME=bookworm\n'
)
DEBIAN_MOSQUITTO_CONF = "pid_file /run/mosquitto/mosquitto.pid\npersistence true\n" \
    "log_dest file /var/log/mosquitto/mosquitto.log\ninclude_dir /etc/mosquitto/conf.d\n"
CMDLINE = "console=serial0,115200 console=tty1 root=PARTUUID=4d8097e2-02 rootfstype=ext4 " \
    "fsck.repair=yes rootwait\n"
SITE = {
    "BRANCH": "krk-01", "KIOSK": "kiosk-1", "TOPIC_ROOT": "checkin/v1",
    "CENTRAL_HOST": "mqtt.example.com", "CENTRAL_PORT": "8883",
    "CENTRAL_CA_FILE": "/etc/branch-checkin/central-ca.crt",
    "BRIDGE_USERNAME": "krk-01.kiosk-1", "BRIDGE_PASSWORD": "s3cr&t\\x",
    "DOOR_SERIAL": "E66138935F2A5E2C", "PRINTER_VID": "04b8", "PRINTER_PID": "0e28",
}


def make_root(tmp_path: Path, os_release: str = RASPBERRY_PI_OS) -> Path:
    root = tmp_path / "root"
    (root / "etc" / "mosquitto" / "conf.d").mkdir(parents=True)
    (root / "etc" / "os-release").write_text(os_release)
    (root / "etc" / "mosquitto" / "mosquitto.conf").write_text(DEBIAN_MOSQUITTO_CONF)
    (root / "etc" / "branch-checkin").mkdir()
    (root / "etc" / "branch-checkin" / "central-ca.crt").write_text("CA certificate\n")
    (root / "boot" / "firmware").mkdir(parents=True)
    (root / "boot" / "firmware" / "cmdline.txt").write_text(CMDLINE)
    return root


def write_site(tmp_path: Path, **changes: str) -> Path:
    values = {**SITE, **changes}
    site = tmp_path / "site.env"
    # Single quotes: the password holds "&" and "\", which must arrive literally.
    site.write_text("".join(f"{k}='{v}'\n" for k, v in values.items()))
    return site


def run_install(root: Path, *args: str, arch: str = "aarch64") -> subprocess.CompletedProcess:
    env = {"PATH": os.environ["PATH"], "ROOT": str(root), "SKIP_APT": "1", "SKIP_USERS": "1",
           "SKIP_VENV": "1", "INSTALL_ARCH": arch}
    return subprocess.run(["sh", str(INSTALL), *args], env=env, capture_output=True, text=True,
                          timeout=60)


def snapshot(root: Path) -> dict[str, tuple[int, str]]:
    """Every path under root with its mode and content hash (or link target)."""
    tree = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            digest = "-> " + os.readlink(path)
        elif path.is_file():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            digest = "dir"
        tree[str(path.relative_to(root))] = (info.st_mode, digest)
    return tree


def test_install_twice_gives_the_same_tree(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    site = write_site(tmp_path)
    first = run_install(root, str(site))
    assert first.returncode == 0, first.stderr
    # The site's own files: edited after the first run, they must survive the second.
    (root / "etc/branch-checkin/kiosk.toml").write_text("# edited on site\n")
    (root / "etc/mosquitto/lan-passwd").write_text("staff-1:$7$hash\n")
    before = snapshot(root)
    second = run_install(root, str(site))
    assert second.returncode == 0, second.stderr
    after = snapshot(root)
    assert after == before, {k: (before.get(k), after.get(k))
                             for k in set(before) | set(after) if before.get(k) != after.get(k)}
    assert (root / "etc/branch-checkin/kiosk.toml").read_text() == "# edited on site\n"
    assert (root / "etc/mosquitto/lan-passwd").read_text() == "staff-1:$7$hash\n"


def test_install_puts_every_piece_in_place(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    result = run_install(root, str(write_site(tmp_path)))
    assert result.returncode == 0, result.stderr
    etc = root / "etc"
    bridge = (etc / "mosquitto/conf.d/central-bridge.conf").read_text()
    assert "topic checkin/v1/branches/krk-01/kiosks/kiosk-1/events out 1\n" in bridge
    assert "topic checkin/v1/branches/krk-01/bookings in 1\n" in bridge
    assert "remote_password s3cr&t\\x\n" in bridge
    assert "address mqtt.example.com:8883\n" in bridge
    # The CA where mosquitto (its own user) can read it.
    assert "bridge_cafile /etc/mosquitto/certs/central-ca.crt\n" in bridge
    assert (etc / "mosquitto/certs/central-ca.crt").read_text() == "CA certificate\n"
    assert stat.S_IMODE((etc / "branch-checkin").stat().st_mode) == 0o750
    assert stat.S_IMODE((etc / "mosquitto/conf.d/central-bridge.conf").stat().st_mode) == 0o640
    assert (etc / "mosquitto/mosquitto.conf.debian").read_text() == DEBIAN_MOSQUITTO_CONF
    broker_conf = (etc / "mosquitto/mosquitto.conf").read_text().splitlines()
    assert "log_dest stderr" in broker_conf
    assert not [line for line in broker_conf if line.startswith("log_dest file")]
    door = (etc / "udev/rules.d/60-branch-checkin-door.rules").read_text()
    assert 'ATTRS{serial}=="E66138935F2A5E2C"' in door and 'SYMLINK+="door0"' in door
    assert (etc / "branch-checkin/kiosk.toml").read_text() == \
        (DEPLOY / "kiosk.example.toml").read_text()
    assert stat.S_IMODE((etc / "branch-checkin/site.env").stat().st_mode) == 0o600
    for unit in ("branch-checkin-kiosk.service", "branch-checkin-health.timer", "tmp.mount",
                 "mosquitto.service.d/branch-checkin.conf"):
        assert (etc / "systemd/system" / unit).is_file(), unit
    assert (root / "opt/branch-checkin/deploy/health/check-all.sh").stat().st_mode & 0o111
    # The memory cgroup (for MemoryMax=) on the kernel command line, still one line.
    assert (root / "boot/firmware/cmdline.txt").read_text() == \
        CMDLINE.rstrip("\n") + " cgroup_enable=memory cgroup_memory=1\n"
    placeholder = re.compile(r"@[A-Z][A-Z0-9_]*@")
    for path in etc.rglob("*"):  # everything rendered goes under /etc
        if path.is_file():
            assert not placeholder.search(path.read_text()), f"placeholder left in {path}"


@pytest.mark.parametrize(("os_release", "arch", "expected"), [
    ('ID=ubuntu\nVERSION_CODENAME=noble\n', "aarch64", "unsupported system 'ubuntu noble'"),
    ('ID=debian\nVERSION_CODENAME=bullseye\n', "aarch64", "unsupported system 'debian bullseye'"),
    (RASPBERRY_PI_OS, "armv7l", "unsupported machine 'armv7l'"),
])
def test_install_refuses_an_unsupported_system(
    tmp_path: Path, os_release: str, arch: str, expected: str
) -> None:
    root = make_root(tmp_path, os_release)
    result = run_install(root, str(write_site(tmp_path)), arch=arch)
    assert result.returncode == 3
    assert expected in result.stderr
    assert not (root / "opt").exists(), "nothing is installed on a refused system"


@pytest.mark.parametrize(("change", "expected"), [
    ({"BRANCH": "Kraków"}, "BRANCH='Kraków' in site.env: expected 1 to 32"),
    ({"BRIDGE_USERNAME": "waw-02.kiosk-1"}, "expected krk-01.kiosk-1"),
    ({"BRIDGE_PASSWORD": "change-me"}, "still the example"),
    ({"DOOR_SERIAL": ""}, "lacks: DOOR_SERIAL"),
    ({"CENTRAL_CA_FILE": "/etc/branch-checkin/nowhere.crt"}, "nowhere.crt is missing"),
])
def test_install_names_a_bad_site_value(tmp_path: Path, change: dict, expected: str) -> None:
    root = make_root(tmp_path)
    result = run_install(root, str(write_site(tmp_path, **change)))
    assert result.returncode == 4
    assert expected in result.stderr


def test_install_without_site_values_leaves_the_example_to_fill_in(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    result = run_install(root)
    assert result.returncode == 4
    assert "fill in" in result.stderr
    assert (root / "etc/branch-checkin/site.env").read_text() == \
        (DEPLOY / "pi" / "site.env.example").read_text()


def add_system_for_systemd(root: Path) -> None:
    """What systemd-analyze needs in the root besides our units: the system's own
    units and an executable at every ExecStart path (stubs; verify checks they exist)."""
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    for link in ("lib", "bin", "sbin"):
        if not (root / link).exists():
            (root / link).symlink_to(f"usr/{link}")
    for binary in ("opt/branch-checkin/venv/bin/kiosk", "usr/sbin/mosquitto", "usr/bin/mkdir",
                   "usr/bin/chown", "usr/bin/kill"):
        path = root / binary
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
    debian_unit = root / "usr/lib/systemd/system/mosquitto.service"
    if not debian_unit.exists():
        debian_unit.write_text("[Service]\nType=notify\nExecStart=/usr/sbin/mosquitto\n")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze missing: apt-get install systemd")
def test_every_shipped_unit_verifies_where_install_puts_it(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    assert run_install(root, str(write_site(tmp_path))).returncode == 0
    add_system_for_systemd(root)
    shipped = sorted(p.name for p in DEPLOY.rglob("*")
                     if p.suffix in {".service", ".timer", ".mount"})
    # mosquitto.service brings in our drop-in (mosquitto.service.d/branch-checkin.conf).
    units = [*shipped, "mosquitto.service"]
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", f"--root={root}", *units],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    # Unknown keys and bad values are only warnings: any output is a failure.
    assert result.stderr == "" and result.stdout == "", result.stderr + result.stdout
