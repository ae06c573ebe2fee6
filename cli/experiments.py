"""`recommender experiments`: create, list, show, stop and report online experiments.

    recommender experiments create NAME --control VERSION --treatment VERSION
                                        --method interleave|ab [--share 0.5]
                                        [--segment tier=gold,maturity=new]
    recommender experiments list|show NAME|stop NAME|report NAME [--json]

The commands work on the workspace's files (no service needed) through the same operations as
/v1/experiments (`service.operations.experiments`): both versions must load, the change is
audited under the CLI user, and a running service rebuilds to serve (or stop serving) it
within about a second.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from cli.common import command, say, workspace_of


def _args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True)
    create = sub.add_parser("create", help="start an experiment between two model versions")
    create.add_argument("name")
    create.add_argument("--control", required=True, help="a model version, or 'playbook'")
    create.add_argument("--treatment", required=True, help="a model version, or 'playbook'")
    create.add_argument("--method", required=True, choices=["interleave", "ab"])
    create.add_argument("--share", type=float, default=0.5, help="A/B: the treatment's share")
    create.add_argument(
        "--segment", default="", help="partners in it, e.g. tier=gold,maturity=new|developing"
    )
    create.add_argument("--comment", default="")
    listing = sub.add_parser("list", help="every experiment, oldest first")
    listing.add_argument("--json", action="store_true")
    show = sub.add_parser("show", help="one experiment")
    show.add_argument("name")
    show.add_argument("--json", action="store_true")
    stop = sub.add_parser("stop", help="stop serving an experiment (its report stays)")
    stop.add_argument("name")
    report = sub.add_parser("report", help="who wins, from the journal")
    report.add_argument("name")
    report.add_argument("--json", action="store_true")
    report.add_argument("--alpha", type=float, default=0.05, help="test level (default 0.05)")
    report.add_argument("--power", type=float, default=0.8, help="A/B: the stated power")
    report.add_argument(
        "--min-effect",
        type=float,
        default=0.05,
        help="A/B: smallest difference worth finding, relative to the control (default 0.05)",
    )


@command("experiments", "online experiments between model versions (interleaving, A/B)", _args)
def _experiments(args: argparse.Namespace) -> int:
    from recommender import ExperimentStore, ReportOptions, report_lines
    from service.operations import experiments as ops
    from service.operations.errors import OperationError

    ws = workspace_of(args)
    actor = f"cli:{os.environ.get('USER', 'unknown')}"
    try:
        if args.action == "create":
            spec = ops.Spec(name=args.name, control=args.control, treatment=args.treatment,
                            method=args.method, share=args.share, segment=args.segment,
                            comment=args.comment)  # fmt: skip
            made = ops.create_offline(ws, spec, actor=actor)
            segment = made.segment_text() or "every partner"
            say(
                f"experiment {made.name} is running: {made.method}, control {made.control}, "
                f"treatment {made.treatment}, segment {segment}"
            )
            return 0
        if args.action == "stop":
            stopped = ops.stop_offline(ws, args.name, actor=actor)
            say(f"experiment {stopped.name} stopped at {stopped.stopped_at}")
            return 0
        with ExperimentStore(ws.console_location) as store:
            every = store.list()
        if args.action == "list":
            if args.json:
                say(json.dumps([e.to_dict() for e in every], indent=2, ensure_ascii=False))
            elif not every:
                say("no experiments; start one with `recommender experiments create`")
            for e in [] if args.json else every:
                say(f"{e.name:<24} {e.status:<8} {e.method:<10} {e.control} vs {e.treatment}  "
                    f"segment {e.segment_text() or 'all'}  since {e.created_at}")  # fmt: skip
            return 0
        found = next((e for e in every if e.name == args.name), None)
        if found is None:
            raise LookupError(f"no experiment named {args.name!r}")
        if args.action == "show":
            data = found.to_dict()
            say(json.dumps(data, indent=2, ensure_ascii=False) if args.json else
                "\n".join(f"{k}: {v}" for k, v in data.items()))  # fmt: skip
            return 0
        options = ReportOptions(alpha=args.alpha, power=args.power, min_effect=args.min_effect)
        result = ops.report(ws, found, options)
        if args.json:
            say(json.dumps(result, indent=2, ensure_ascii=False, default=str))
        else:
            for line in report_lines(result):
                say(line)
        return 0
    except OperationError as exc:
        print(f"error: {'; '.join(exc.reasons)}", file=sys.stderr)
        return 2
