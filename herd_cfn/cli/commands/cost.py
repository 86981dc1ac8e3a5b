"""``herd-cfn cost``: the monthly estimate of each environment, line by line, dev beside prod."""

from __future__ import annotations

import argparse
import json
import sys

from herd_cfn.build import cost
from herd_cfn.cli.options import add_aws_access, aws_access
from herd_cfn.config.environments import Environment
from herd_cfn.errors import InputError
from herd_cfn.operations.progress import Progress
from herd_cfn.templates.registry import load_project

NAME = "cost"
HELP = "estimate each environment's monthly AWS cost from the templates and parameters (no AWS call)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(NAME, help=HELP, description=HELP + "; --live reads current prices from AWS")
    add_aws_access(p)
    p.add_argument("--env", help="dev, prod… or all (default: all, side by side)")
    p.add_argument("--assume", action="append", default=[], metavar="NAME=NUMBER",
                   help="override a usage assumption, e.g. pushes_per_month=40 (repeatable; see the list printed)")
    p.add_argument("--format", choices=("table", "json"), default="table", help="table (default) or json")
    p.add_argument("--live", action="store_true", help="read prices from the AWS Price List API (pricing:GetProducts)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    assumptions = cost.parse_assumptions(args.assume)
    project = load_project(args.parameters_dir)
    environments = project.select(args.env)
    if not args.live and (args.local or args.endpoint_url or args.profile or args.account_profile or args.role_name):
        raise InputError("command line", "--live", "AWS access options only matter with --live (prices are "
                         "read from the shipped table otherwise)")
    estimates, notes = {}, []
    for env in environments:
        prices = cost.shipped_prices(env.region)
        if args.live:
            prices, kept = _live(args, project, prices)
            if kept:
                notes.append(f"{env.region}: from the shipped table ({prices.as_of}): {', '.join(kept)}")
        estimates[env.name] = (env, prices, cost.estimate(env, prices, assumptions))
    if args.format == "json":
        print(json.dumps(_as_json(estimates, assumptions), indent=2))
    else:
        _print_table(estimates, assumptions, notes)
    return 0


def _live(args: argparse.Namespace, project, table: cost.Prices) -> tuple[cost.Prices, list[str]]:
    from herd_cfn.operations.pricing import live_prices

    progress = Progress(sys.stderr)
    with aws_access(args, project, progress, bootstrap=False) as ctx:
        return live_prices(ctx, table)


def _as_json(estimates: dict, assumptions: dict[str, float]) -> dict:
    return {
        "assumptions": assumptions,
        "environments": {
            name: {"region": env.region, "prices": prices.as_of, "total": round(cost.total(lines), 2),
                   "lines": [{"item": line.item, "quantity": round(line.quantity, 3), "unit": line.unit,
                              "unit_price": line.unit_price, "monthly": round(line.monthly, 2)} for line in lines]}
            for name, (env, prices, lines) in estimates.items()
        },
    }


def _print_table(estimates: dict[str, tuple[Environment, cost.Prices, list[cost.Line]]],
                 assumptions: dict[str, float], notes: list[str]) -> None:
    names = list(estimates)
    rows: dict[str, dict[str, cost.Line]] = {}
    for name, (_, _, lines) in estimates.items():
        for line in lines:
            rows.setdefault(line.item, {})[name] = line
    width = max(len(item) for item in rows) + 2
    print((f"{'monthly, USD':<{width}}" + "".join(f"{n:>12}{'':>22}" for n in names)).rstrip())
    for item, by_env in rows.items():
        cells = [(f"{by_env[n].monthly:.2f}", by_env[n].detail) if n in by_env else ("-", "") for n in names]
        print(f"{item:<{width}}" + "".join(f"{money:>12}  {detail:<20}" for money, detail in cells).rstrip())
    print(f"{'total':<{width}}" + "".join(f"{cost.total(estimates[n][2]):>12.2f}{'':>22}" for n in names).rstrip())
    prices = {f"{env.region} ({p.as_of}, {p.source})" for env, p, _ in estimates.values()}
    print(f"\nprices: {'; '.join(sorted(prices))}; no free tier, tax or discount")
    for note in notes:
        print(f"  {note}")
    print("assumptions (override with --assume NAME=NUMBER):")
    for name, value in assumptions.items():
        print(f"  {name}={value:g}  {cost.ASSUMPTIONS[name].description}")

