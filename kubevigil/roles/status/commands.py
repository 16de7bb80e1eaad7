"""`kubevigil status ...`: the status role's tools on the command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from kubevigil.roles.role import CommandTools, Subcommands


def add_commands(subcommands: Subcommands, tools: CommandTools) -> None:
    """`kubevigil status create-alarm`."""
    status = subcommands.add_parser("status", help="status role tools", description="Tools for the status role.")
    status_sub = status.add_subparsers(metavar="COMMAND", dest="status_command", required=True)
    alarm = status_sub.add_parser(
        "create-alarm", help="create the recommended CloudWatch alarm for the heartbeat",
        description="Create the recommended CloudWatch alarm on the status heartbeat: below 1 for N periods, "
        "missing data breaching. --dry-run prints the PutMetricAlarm request as JSON instead.")
    tools.config_options(alarm)
    alarm.add_argument("--dry-run", action="store_true", help="print the alarm as JSON, create nothing")
    alarm.add_argument("--periods", type=int, default=3, help="alarm after this many periods below 1 (default 3)")
    alarm.add_argument("--action", action="append", default=[], metavar="ARN",
                       help="SNS topic (or other) ARN to notify; repeatable")
    alarm.set_defaults(func=lambda args: _create_alarm(args, tools))


def _create_alarm(args: argparse.Namespace, tools: CommandTools) -> int:
    from kubevigil.roles.status.alarm import AlarmError, create_alarm

    settings = tools.load(args)
    if settings is None:
        return 1
    try:
        request = asyncio.run(
            create_alarm(settings, dry_run=args.dry_run, periods=args.periods, actions=tuple(args.action)))
    except AlarmError as exc:
        print(f"kubevigil: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(request, indent=2, default=str))
    return 0
