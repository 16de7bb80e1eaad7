"""`kubevigil dashboards …`: the command group; the builders are imported only when a command runs."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from typing import Any

Load = Callable[[str | None, str | None], Any]  # (config file, format) -> a loaded config, or None after one line


def add_commands(subparsers: Any, load: Load, format_option: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add `dashboards cloudwatch` to the command line; `load` reads the config as every command does."""
    group = subparsers.add_parser("dashboards", help="dashboards for what a config publishes",
                                  description="Dashboards built from a config: only what its roles and sinks publish.")
    group.set_defaults(func=lambda _: _help(group))
    commands = group.add_subparsers(metavar="COMMAND", dest="dashboards_command", required=True)
    cw = commands.add_parser(
        "cloudwatch", help="print (or --apply) the CloudWatch dashboard for a config",
        description="Build the CloudWatch dashboard for the config's cluster: heartbeat, events delivery, scrape "
        "capacity and completeness, nurse latencies and error rates, health check failures — each only when a role "
        "sends it to a `cloudwatch`/`emf` sink (events also from a `cloudwatch_logs` receiver). Prints the "
        "dashboard body as JSON; --apply creates or replaces it with PutDashboard.")
    cw.add_argument("--config", "-c", help="config file (default: as for run)")
    cw.add_argument("--apply", action="store_true", help="create or replace the dashboard (PutDashboard)")
    cw.add_argument("--name", help="dashboard name (default kubevigil-<cluster name>)")
    format_option(cw)
    cw.set_defaults(func=lambda args: _cloudwatch(args, load))


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _cloudwatch(args: argparse.Namespace, load: Load) -> int:
    from kubevigil.dashboards.cloudwatch import DashboardError, dashboard, dashboard_name, default_region, put_dashboard

    loaded = load(args.config, args.format)
    if loaded is None:
        return 1
    settings = loaded.settings
    try:
        body = dashboard(settings, default_region())
        if not args.apply:
            print(json.dumps(body, indent=2))
            return 0
        name = args.name or dashboard_name(settings)
        warnings = asyncio.run(put_dashboard(settings, name, body))
    except DashboardError as exc:
        print(f"{loaded.source}: {exc}", file=sys.stderr)
        return 1
    for warning in warnings:
        print(f"warning: CloudWatch: {warning}", file=sys.stderr)
    print(f"dashboard {name}: {len(body['widgets'])} widgets")
    return 0
