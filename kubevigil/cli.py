"""The `kubevigil` command: run, demo, check-config, rbac, schema, version, sim, and each role's own commands."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, cast

from kubevigil import __version__
from kubevigil.core.startup import StartupError

if TYPE_CHECKING:
    from kubevigil.roles.role import Subcommands
from kubevigil.dashboards.command import add_commands as add_dashboard_commands

CONFIG_HELP = "config file (default: $KUBEVIGIL_CONFIG, $KS2CW_CONFIG_PATH, ./config.yaml, /etc/kubevigil/config.yaml)"
ROLE_HELP = ("only this role (repeatable); default: every role the file configures. With no config file, the role "
             "runs with its defaults or its replaced tool's environment variables")

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
    from kubevigil.roles.registry import ROLES

    p = _Parser(prog="kubevigil", description="Cluster health shipped to places that stay up when the cluster does not.")
    p.add_argument("--version", action="version", version=f"kubevigil {__version__}")
    sub = p.add_subparsers(metavar="COMMAND")

    run = sub.add_parser("run", help="run the roles a config file enables", description="Run the roles the config file enables until SIGTERM/SIGINT.")
    run.add_argument("--config", "-c", help=CONFIG_HELP)
    run.add_argument("--role", action="append", choices=list(ROLES), metavar="ROLE", help=ROLE_HELP)
    _format_option(run)
    run.set_defaults(func=_cmd_run)

    demo = sub.add_parser("demo", help="run every role against a built-in simulated cluster", description="Start the Kubernetes API emulator with a small realistic cluster and run every role against it with local sinks.")
    demo.add_argument("--duration", type=_seconds, help="stop after this many seconds (default: until Ctrl-C)")
    demo.add_argument("--port", type=_port, default=8080, help="HTTP port for /metrics, /readyz, /status (default 8080; 0 = any free port)")
    demo.add_argument("--out", default="demo-out", help="directory for the demo's files (default ./demo-out)")
    demo.set_defaults(func=_cmd_demo)

    check = sub.add_parser("check-config", help="validate a config file and print it in normalized native form", description="Validate a config file (native or a replaced tool's format) and print the normalized native config; exit 0 if valid, 1 if not. With --role and no file: the role's defaults or its replaced tool's environment variables, translated.")
    check.add_argument("file", nargs="?", help="config file (default: as for run)")
    check.add_argument("--role", action="append", choices=list(ROLES), metavar="ROLE", help=ROLE_HELP)
    _format_option(check)
    check.set_defaults(func=_cmd_check_config)

    rbac = sub.add_parser("rbac", help="print the least-privilege ClusterRole (and Role) for a config", description="Print one ClusterRole with every rule the enabled roles use, and a Role for what lives in one namespace (the leader-election Lease, the events checkpoint ConfigMap, the nurse pods). No wildcard.")
    rbac.add_argument("--config", "-c", help=CONFIG_HELP)
    rbac.add_argument("--role", action="append", choices=list(ROLES), metavar="ROLE", help=ROLE_HELP)
    rbac.add_argument("--name", default="kubevigil", help="name of the ClusterRole and Role (default kubevigil)")
    rbac.add_argument("--namespace", help="namespace of the Role for the process's own namespace (default: none "
                                          "written; kubectl -n or kustomize sets it)")
    _format_option(rbac)
    rbac.set_defaults(func=_cmd_rbac)

    schema = sub.add_parser("schema", help="print the JSON Schema of the config file", description="Print the JSON Schema of the native config, for editors.")
    schema.set_defaults(func=_cmd_schema)

    version = sub.add_parser("version", help="print the version", description="Print kubevigil's version.")
    version.set_defaults(func=lambda _: print(f"kubevigil {__version__}"))

    # `sim` is parsed by the emulator's own parser, imported only when the command is used: every other command
    # then runs without importing the emulator.
    sim = sub.add_parser("sim", help="the Kubernetes API emulator", add_help=False)
    sim.add_argument("-h", "--help", action="store_true")
    sim.add_argument("rest", nargs=argparse.REMAINDER)
    sim.set_defaults(func=_cmd_sim)

    tools = _Tools()
    for spec in ROLES.values():
        if spec.commands is not None:
            spec.commands(cast("Subcommands", sub), tools)  # its parsers are _Parser, an ArgumentParser
    add_dashboard_commands(sub, _load, _format_option)
    return p


def _format_option(p: argparse.ArgumentParser) -> None:
    from kubevigil.config import importers

    p.add_argument("--format", choices=sorted(importers.names()), help="config format (default: detected from the file's shape)")


class _Tools:
    """What role commands get (roles/role.py `CommandTools`): the config options and loading every command shares."""

    def config_options(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--config", "-c", help=CONFIG_HELP)
        _format_option(parser)

    def load(self, args: argparse.Namespace) -> Any:
        loaded = _load(args.config, args.format)
        return None if loaded is None else loaded.settings


def _cmd_sim(args: argparse.Namespace) -> int:
    from kubevigil.sim.serve import add_sim_parser

    parser = _Parser(prog="kubevigil")
    add_sim_parser(parser.add_subparsers(metavar="COMMAND"))
    parsed = parser.parse_args(["sim", *(["--help"] if args.help else []), *args.rest])
    return int(parsed.func(parsed) or 0)


def _load(file: str | None, fmt: str | None, roles: Sequence[str] | None = None) -> Any:
    """The config: the file (as found by find_config_path), or, when none exists and roles are named, those roles'
    defaults. None after printing every problem."""
    from kubevigil.catalog import load, load_defaults
    from kubevigil.config import ConfigError, MissingConfig, find_config_path
    from kubevigil.core.secrets import scrub

    try:
        try:
            loaded = load(find_config_path(file), format=fmt)
        except MissingConfig as missing:
            if file or not roles:
                raise
            loaded = load_defaults(roles)
            print(f"# no config file ({missing}); {', '.join(roles)} configured from {loaded.format}", file=sys.stderr)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return None
    for warning in loaded.warnings:
        print(f"warning: {scrub(warning)}", file=sys.stderr)  # a warning may quote a value
    return loaded


def _roles(loaded: Any, wanted: Sequence[str] | None) -> list[str] | None:
    """The roles to act on: those asked for (each must be configured), else every configured one; None after
    printing why not."""
    enabled = loaded.settings.roles_enabled()
    missing = [r for r in wanted or () if r not in enabled]
    if missing:
        print(f"{loaded.source}: --role {', '.join(missing)}: not configured in this file (it configures: {', '.join(enabled) or 'none'})", file=sys.stderr)
        return None
    return list(wanted or enabled)


def _cmd_check_config(args: argparse.Namespace) -> int:
    from kubevigil.config import normalized
    from kubevigil.config.views import as_yaml

    loaded = _load(args.file, args.format, args.role)
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
    loaded = _load(args.config, args.format, args.role)
    if loaded is None:
        return 1
    roles = _roles(loaded, args.role)
    if roles is None:
        return 1
    if not roles:
        print(f"{loaded.source}: no role is enabled: add a role section ({', '.join(loaded.settings.role_names)})", file=sys.stderr)
        return 2
    from kubevigil.runtime import run_until_signal

    return asyncio.run(run_until_signal(loaded.settings, roles))


def _cmd_rbac(args: argparse.Namespace) -> int:
    import yaml

    from kubevigil.catalog import rbac
    from kubevigil.roles.rbac import manifests

    loaded = _load(args.config, args.format, args.role)
    if loaded is None:
        return 1
    roles = _roles(loaded, args.role)
    if roles is None:
        return 1
    if not roles:
        print(f"{loaded.source}: no role is enabled, so kubevigil needs no access", file=sys.stderr)
        return 1
    docs = manifests(rbac(loaded.settings, roles), args.name, args.namespace)
    yaml.safe_dump_all(docs, sys.stdout, sort_keys=False)
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
