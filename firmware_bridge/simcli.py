"""`kiosk door-sim`: run a scenario through the firmware's counting logic at full speed."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from .firmware.scenario import ScenarioError, run_scenario

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_MISMATCH = 1
EXIT_USAGE = 2

DESCRIPTION = """\
Runs a scenario of timed beam edges through the door firmware's own counting
logic (20 ms debounce, beam A street side, B inside) as fast as it can and
prints how many people went in and out.

Scenario file: JSON lines such as {"t_ms": 1200, "beam": "A", "blocked": true}
or {"t_ms": 5000, "door": "open"}; lines starting with # are comments, and
"# expect: in=N out=M" states the expected result.
"""

EPILOG = """\
exit status: 0 done (and the expectation, if any, was met); 1 the counts differ
from the file's "# expect:" line; 2 bad arguments or a bad scenario file.
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kiosk door-sim", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--scenario", required=True, metavar="FILE",
                        help="scenario file (JSON lines), or - for standard input")
    parser.add_argument("--json", action="store_true",
                        help='print {"in": N, "out": M, "events": [...]} as JSON')
    return parser


def door_sim_main(argv: list[str]) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage already
        return EXIT_OK if exc.code == 0 else EXIT_USAGE
    try:
        lines = _read_lines(args.scenario)
        result = run_scenario(lines)
    except (OSError, UnicodeDecodeError) as exc:
        return _usage_error(f"cannot read scenario file {args.scenario}: {exc}")
    except ScenarioError as exc:
        return _usage_error(f"bad scenario file {args.scenario}: {exc}. Each line must look "
                            'like {"t_ms": 1200, "beam": "A", "blocked": true}.')
    expect = result.pop("expect")
    if args.json:
        print(json.dumps({"in": result["in"], "out": result["out"], "events": result["events"]},
                         ensure_ascii=False))
    else:
        print(f"wejścia / in: {result['in']}  wyjścia / out: {result['out']}")
        for event in result["events"]:
            print(f"{event['t_ms']:>8} ms  {event['kind']}")
    if expect is not None:
        wanted = {"in": expect.get("in", result["in"]), "out": expect.get("out", result["out"])}
        if wanted != {"in": result["in"], "out": result["out"]}:
            print(f"kiosk door-sim: expected in={wanted['in']} out={wanted['out']}, "
                  f"counted in={result['in']} out={result['out']}", file=sys.stderr)
            return EXIT_MISMATCH
    return EXIT_OK


def _read_lines(path: str) -> list[str]:
    if path == "-":
        return sys.stdin.read().splitlines()
    with open(path, encoding="utf-8") as f:
        return f.read().splitlines()


def _usage_error(message: str) -> int:
    logger.info("door-sim: %s", message)  # the user sees it on stderr below
    print(f"kiosk door-sim: {message}", file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(door_sim_main(sys.argv[1:]))
