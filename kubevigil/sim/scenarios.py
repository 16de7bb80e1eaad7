"""What a workload asks the simulator to play, read from its `sim.kubevigil.io/*` annotations."""

from __future__ import annotations

import re
from dataclasses import dataclass

PREFIX = "sim.kubevigil.io/"
SCENARIO = PREFIX + "scenario"
READY_AFTER = PREFIX + "ready-after"
DURATION = PREFIX + "duration"
LOGS = PREFIX + "logs"
EXIT_CODE = PREFIX + "exit-code"
TERMINATION_MESSAGE = PREFIX + "termination-message"

HEALTHY = "healthy"
CRASHLOOP = "crashloop"
IMAGEPULL = "imagepull"
UNREADY = "unready"
SLOW_ROLLOUT = "slow-rollout"
JOB_FAIL = "job-fail"
KNOWN = (HEALTHY, CRASHLOOP, IMAGEPULL, UNREADY, SLOW_ROLLOUT, JOB_FAIL)

DEFAULT_READY_AFTER = 2.0
SLOW_READY_AFTER = 60.0
DEFAULT_DURATION = 5.0

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


class ScenarioError(ValueError):
    """An annotation the simulator cannot act on; the message names the object, the annotation and the reason."""


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str = HEALTHY
    ready_after: float = DEFAULT_READY_AFTER
    duration: float = DEFAULT_DURATION
    logs: str | None = None  # what each container prints when it starts (None: a line per scenario)
    exit_code: int | None = None  # how a container that ends exits (None: 1 for crashloop/job-fail, else 0)
    termination_message: str | None = None  # what it leaves in /dev/termination-log

    def code(self) -> int:
        if self.exit_code is not None:
            return self.exit_code
        return 1 if self.name in (CRASHLOOP, JOB_FAIL) else 0


def parse_seconds(text: str, where: str, key: str) -> float:
    """'5s', '1.5m', '250ms', '30' (seconds) -> seconds."""
    match = _DURATION.match(str(text))
    if not match:
        raise ScenarioError(f"{where}: annotation {key}={text!r} is not a duration (use e.g. '5s', '2m', '250ms')")
    return float(match.group(1)) * _UNIT[match.group(2)]


def scenario_of(annotations: dict[str, str], where: str) -> Scenario:
    """Build the Scenario for one object; `where` (e.g. 'Deployment shop/cart') goes into error messages."""
    name = annotations.get(SCENARIO, HEALTHY).strip() or HEALTHY
    if name not in KNOWN:
        raise ScenarioError(f"{where}: annotation {SCENARIO}={name!r} is not one of {', '.join(KNOWN)}")
    default_ready = SLOW_READY_AFTER if name == SLOW_ROLLOUT else DEFAULT_READY_AFTER
    ready_after = default_ready
    if READY_AFTER in annotations:
        ready_after = parse_seconds(annotations[READY_AFTER], where, READY_AFTER)
    duration = DEFAULT_DURATION
    if DURATION in annotations:
        duration = parse_seconds(annotations[DURATION], where, DURATION)
    exit_code = None
    if EXIT_CODE in annotations:
        text = str(annotations[EXIT_CODE]).strip()
        if not text.isdigit() or int(text) > 255:
            raise ScenarioError(f"{where}: annotation {EXIT_CODE}={text!r} is not an exit code (0-255)")
        exit_code = int(text)
    return Scenario(name, ready_after, duration, annotations.get(LOGS), exit_code,
                    annotations.get(TERMINATION_MESSAGE))


def has_scenario(annotations: dict[str, str]) -> bool:
    return any(key.startswith(PREFIX) for key in annotations)
