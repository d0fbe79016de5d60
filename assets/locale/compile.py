"""Compile the kiosk's .po catalogs into .mo files, without GNU gettext installed.

    python assets/locale/compile.py          # writes every <lang>/LC_MESSAGES/kiosk.mo
    python assets/locale/compile.py --check  # exit 1 if a committed .mo differs from its .po

Understands what these catalogs use: comments, msgid/msgstr with continued strings, and the
usual escapes. No plural forms, no contexts.
"""

from __future__ import annotations

import argparse
import ast
import struct
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


class PoError(ValueError):
    """A line of a .po file cannot be read; the message names the file and the line."""


def parse_po(path: Path) -> dict[str, str]:
    entries: dict[str, str] = {}
    msgid: list[str] | None = None
    msgstr: list[str] | None = None
    current: list[str] | None = None

    def flush() -> None:
        if msgid is not None and msgstr is not None:
            entries["".join(msgid)] = "".join(msgstr)

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            if line.startswith("msgid "):
                flush()
                msgid, msgstr = [_string(line[6:])], None
                current = msgid
            elif line.startswith("msgstr "):
                msgstr = [_string(line[7:])]
                current = msgstr
            elif line.startswith('"') and current is not None:
                current.append(_string(line))
            else:
                raise PoError("expected msgid, msgstr or a continued string")
        except (PoError, ValueError, SyntaxError) as exc:
            raise PoError(f"{path}:{number}: {exc}: {raw!r}") from None
    flush()
    return entries


def _string(token: str) -> str:
    value = ast.literal_eval(token.strip())
    if not isinstance(value, str):
        raise PoError("not a quoted string")
    return value


def mo_bytes(entries: dict[str, str]) -> bytes:
    """The GNU .mo format: header, two tables of (length, offset), then the strings."""
    keys = sorted(k for k, v in entries.items() if v or k == "")
    ids = [k.encode() for k in keys]
    strs = [entries[k].encode() for k in keys]
    count = len(keys)
    ids_table = 7 * 4
    strs_table = ids_table + count * 8
    data_start = strs_table + count * 8
    offsets_ids, offsets_strs, blob = [], [], b""
    for item in ids:
        offsets_ids.append((len(item), data_start + len(blob)))
        blob += item + b"\0"
    for item in strs:
        offsets_strs.append((len(item), data_start + len(blob)))
        blob += item + b"\0"
    header = struct.pack("<7I", 0x950412DE, 0, count, ids_table, strs_table, 0, 0)
    tables = b"".join(struct.pack("<2I", *pair) for pair in offsets_ids + offsets_strs)
    return header + tables + blob


def catalogs() -> list[Path]:
    return sorted(HERE.glob("*/LC_MESSAGES/*.po"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    stale = 0
    for po in catalogs():
        data = mo_bytes(parse_po(po))
        mo = po.with_suffix(".mo")
        if args.check:
            if not mo.exists() or mo.read_bytes() != data:
                print(f"{mo} is out of date: run python {Path(__file__).name}", file=sys.stderr)
                stale += 1
        else:
            mo.write_bytes(data)
            print(f"wrote {mo}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
