# Runs a scenario (JSON lines of timed beam and door edges) through the
# counting logic at full speed. Used by `kiosk door-sim` and the firmware tests.
import json

from .config import DEBOUNCE_MS
from .counter import PASS_IN, BeamCounter

EXPECT_PREFIX = "# expect:"


class ScenarioError(ValueError):
    """A scenario line that cannot be used; the message names the line."""


def parse_expect(text):
    """'# expect: in=2 out=1' -> {'in': 2, 'out': 1}."""
    expect = {}
    for part in text[len(EXPECT_PREFIX):].split():
        key, _, value = part.partition("=")
        if key not in ("in", "out") or not value.isdigit():
            raise ValueError("expected 'in=N' or 'out=N', got %r" % part)
        expect[key] = int(value)
    return expect


def parse_line(text, lineno):
    """Return a step dict, or None for blank and comment lines."""
    text = text.strip()
    if not text or text.startswith("#"):
        return None
    try:
        step = json.loads(text)
    except ValueError:
        raise ScenarioError("line %d: not valid JSON: %s" % (lineno, text[:60]))
    if not isinstance(step, dict):
        raise ScenarioError("line %d: expected a JSON object" % lineno)
    t_ms = step.get("t_ms")
    if not isinstance(t_ms, int) or isinstance(t_ms, bool) or t_ms < 0:
        raise ScenarioError("line %d: 't_ms' must be a whole number of ms >= 0" % lineno)
    if "beam" in step:
        if step["beam"] not in ("A", "B"):
            raise ScenarioError("line %d: 'beam' must be \"A\" or \"B\"" % lineno)
        if not isinstance(step.get("blocked"), bool):
            raise ScenarioError("line %d: 'blocked' must be true or false" % lineno)
    elif "door" in step:
        if step["door"] not in ("open", "closed"):
            raise ScenarioError("line %d: 'door' must be \"open\" or \"closed\"" % lineno)
    else:
        raise ScenarioError("line %d: a step needs 'beam' and 'blocked', or 'door'" % lineno)
    return step


def run_scenario(lines, debounce_ms=DEBOUNCE_MS):
    """Run the lines of a scenario file; return {'in', 'out', 'events', 'expect'}."""
    counter = None
    events = []  # type: list
    expect = None
    last_t = None
    result = {"in": 0, "out": 0}  # type: dict
    lineno = 0
    for text in lines:
        lineno += 1
        if text.strip().startswith(EXPECT_PREFIX):
            try:
                expect = parse_expect(text.strip())
            except ValueError as exc:
                raise ScenarioError("line %d: %s" % (lineno, exc))
            continue
        step = parse_line(text, lineno)
        if step is None:
            continue
        t_ms = step["t_ms"]
        if last_t is not None and t_ms < last_t:
            raise ScenarioError("line %d: t_ms %d is earlier than the line before (%d)"
                                % (lineno, t_ms, last_t))
        last_t = t_ms
        if counter is None:
            counter = BeamCounter(debounce_ms, t_ms)
        if "beam" in step:
            passages = counter.edge(step["beam"], step["blocked"], t_ms)
        else:
            passages = counter.advance(t_ms)
        _record(passages, events, result)
        if "door" in step:
            kind = "DOOR_OPENED" if step["door"] == "open" else "DOOR_CLOSED"
            events.append({"t_ms": t_ms, "kind": kind})
    if counter is not None and last_t is not None:
        _record(counter.advance(last_t + debounce_ms), events, result)
    events.sort(key=lambda e: e["t_ms"])
    result["events"] = events
    result["expect"] = expect
    return result


def _record(passages, events, result):
    for kind, t_ms in passages:
        name = "in" if kind == PASS_IN else "out"
        result[name] += 1
        events.append({"t_ms": t_ms, "kind": "PASS_IN" if kind == PASS_IN else "PASS_OUT"})
