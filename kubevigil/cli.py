"""The `kubevigil` command: run, demo, check-config, schema, version, sim, status."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import yaml

from kubevigil import __version__
from kubevigil.core.startup import StartupError

_SIGPIPE_EXIT = 141  # what a shell reports for a program a closed pipe ended (128 + SIGPIPE)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except StartupError as exc:
        print(f"kubevigil: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `kubevigil schema | head`: the reader has all it wants; nothing to report
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the flush at exit must not fail again
        return _SIGPIPE_EXIT


class _Parser(argparse.ArgumentParser):
    """argparse with a mistake told in one line (argparse's usage block buries it), commands named when missing."""

    def error(self, message: str) -> NoReturn:
        commands = next((a for a in self._actions if isinstance(a, argparse._SubParsersAction)), None)
        if commands is not None and f"required: {commands.metavar or commands.dest}" in message:
            message = f"a command is required: {', '.join(commands.choices)}"
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _seconds(text: str) -> float:
    """A duration on the command line: a finite number of seconds above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= 10**12 or math.isnan(value):
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds (and at most 10^12); got {text}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0-65535 (0: any free port); got {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="kubevigil", description="Cluster health shipped to places that stay up when the cluster does not.")
    p.add_argument("--version", action="version", version=f"kubevigil {__version__}")
    sub = p.add_subparsers(metavar="COMMAND")

    run = sub.add_parser("run", help="run the roles a config file enables", description="Run the roles the config file enables until SIGTERM/SIGINT.")
    run.add_argument("--config", "-c", help="config file (default: $KUBEVIGIL_CONFIG, $KS2CW_CONFIG_PATH, ./config.yaml, /etc/kubevigil/config.yaml)")
    run.add_argument("--role", action="append", help="run only this role (repeatable); default: every role the file configures")
    _format_option(run)
    run.set_defaults(func=_cmd_run)

    demo = sub.add_parser("demo", help="run every role against a built-in simulated cluster", description="Start the Kubernetes API emulator with a small realistic cluster and run every role against it with local sinks.")
    demo.add_argument("--duration", type=_seconds, help="stop after this many seconds (default: until Ctrl-C)")
    demo.add_argument("--port", type=_port, default=8080, help="HTTP port for /metrics, /readyz, /status (default 8080; 0 = any free port)")
    demo.add_argument("--out", default="demo-out", help="directory for the demo's files (default ./demo-out)")
    demo.set_defaults(func=_cmd_demo)

    check = sub.add_parser("check-config", help="validate a config file and print it in normalized native form", description="Validate a config file (native or a replaced tool's format) and print the normalized native config; exit 0 if valid, 1 if not.")
    check.add_argument("file", nargs="?", help="config file (default: as for run)")
    _format_option(check)
    check.set_defaults(func=_cmd_check_config)

    schema = sub.add_parser("schema", help="print the JSON Schema of the config file", description="Print the JSON Schema of the native config, for editors.")
    schema.set_defaults(func=_cmd_schema)

    version = sub.add_parser("version", help="print the version", description="Print kubevigil's version.")
    version.set_defaults(func=lambda _: print(f"kubevigil {__version__}"))

    _add_optional_groups(sub)
    return p


def _format_option(p: argparse.ArgumentParser) -> None:
    from kubevigil.config import importers

    p.add_argument("--format", choices=sorted(importers.names()), help="config format (default: detected from the file's shape)")


def _add_optional_groups(sub: Any) -> None:
    """Command groups that parts of the package contribute (emulator, status role)."""
    # `sim` is parsed by the emulator's own parser, imported only when the command is used: every other command
    # then runs without importing the emulator.
    sim = sub.add_parser("sim", help="the Kubernetes API emulator", add_help=False)
    sim.add_argument("-h", "--help", action="store_true")
    sim.add_argument("rest", nargs=argparse.REMAINDER)
    sim.set_defaults(func=_cmd_sim)
    status = sub.add_parser("status", help="status role tools", description="Tools for the status role.")
    status_sub = status.add_subparsers(metavar="COMMAND", dest="status_command", required=True)
    alarm = status_sub.add_parser(
        "create-alarm", help="create the recommended CloudWatch alarm for the heartbeat",
        description="Create the recommended CloudWatch alarm on the status heartbeat: below 1 for N periods, "
        "missing data breaching. --dry-run prints the PutMetricAlarm request as JSON instead.")
    alarm.add_argument("--config", "-c", help="config file (default: as for run)")
    alarm.add_argument("--dry-run", action="store_true", help="print the alarm as JSON, create nothing")
    alarm.add_argument("--periods", type=int, default=3, help="alarm after this many periods below 1 (default 3)")
    alarm.add_argument("--action", action="append", default=[], metavar="ARN", help="SNS topic (or other) ARN to notify; repeatable")
    _format_option(alarm)
    alarm.set_defaults(func=_cmd_create_alarm)
    rbac = status_sub.add_parser(
        "rbac", help="print the least-privilege ClusterRole for the configured targets",
        description="Print the ClusterRole the status role needs for this config: list and watch on exactly the "
        "kinds its targets use.")
    rbac.add_argument("--config", "-c", help="config file (default: as for run)")
    _format_option(rbac)
    rbac.set_defaults(func=_cmd_status_rbac)


def _cmd_sim(args: argparse.Namespace) -> int:
    from kubevigil.sim.serve import add_sim_parser

    parser = _Parser(prog="kubevigil")
    add_sim_parser(parser.add_subparsers(metavar="COMMAND"))
    parsed = parser.parse_args(["sim", *(["--help"] if args.help else []), *args.rest])
    return int(parsed.func(parsed) or 0)


def _load(file: str | None, fmt: str | None) -> Any:
    from kubevigil.catalog import load
    from kubevigil.config import ConfigError, find_config_path
    from kubevigil.core.secrets import scrub

    try:
        loaded = load(find_config_path(file), format=fmt)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return None
    for warning in loaded.warnings:
        print(f"warning: {scrub(warning)}", file=sys.stderr)  # a warning may quote a value
    return loaded


def _cmd_check_config(args: argparse.Namespace) -> int:
    from kubevigil.config import normalized
    from kubevigil.config.views import as_yaml

    loaded = _load(args.file, args.format)
    if loaded is None:
        return 1
    print(f"# {loaded.source} ({loaded.format}) is valid; normalized native config:", file=sys.stderr)
    sys.stdout.write(as_yaml(normalized(loaded.settings)))
    return 0


def _cmd_schema(_: argparse.Namespace) -> int:
    from kubevigil.catalog import json_schema

    print(json.dumps(json_schema(), indent=2))
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    loaded = _load(args.config, args.format)
    if loaded is None:
        return 1
    settings = loaded.settings
    enabled = settings.roles_enabled()
    roles = args.role or enabled
    missing = [r for r in roles if r not in enabled]
    if missing:
        print(f"{loaded.source}: --role {', '.join(missing)}: not configured in this file (it configures: {', '.join(enabled) or 'none'})", file=sys.stderr)
        return 1
    if not enabled:
        print(f"{loaded.source}: no role is enabled: add a role section ({', '.join(settings.role_names)})", file=sys.stderr)
        return 2
    from kubevigil.runtime import run_until_signal

    return asyncio.run(run_until_signal(settings, roles))


def _cmd_create_alarm(args: argparse.Namespace) -> int:
    from kubevigil.roles.status.alarm import AlarmError, create_alarm

    loaded = _load(args.config, args.format)
    if loaded is None:
        return 1
    try:
        request = asyncio.run(
            create_alarm(loaded.settings, dry_run=args.dry_run, periods=args.periods, actions=tuple(args.action))
        )
    except AlarmError as exc:
        print(f"kubevigil: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(request, indent=2, default=str))
    return 0


def _cmd_status_rbac(args: argparse.Namespace) -> int:
    from kubevigil.roles.status.rbac import cluster_role

    loaded = _load(args.config, args.format)
    if loaded is None:
        return 1
    if loaded.settings.status is None:
        print(f"{loaded.source}: no `status` section", file=sys.stderr)
        return 1
    yaml.safe_dump(cluster_role(loaded.settings.status), sys.stdout, sort_keys=False)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from kubevigil.demo import run_demo
    from kubevigil.server import ListenError

    try:
        return asyncio.run(run_demo(Path(args.out), port=args.port, duration=args.duration))
    except ListenError as exc:
        raise StartupError(f"{exc} (--port chooses another; --port 0 takes any free one)") from None


if __name__ == "__main__":
    raise SystemExit(main())
