"""The ``riskwatch`` command. Thin: it parses arguments and calls the functions tests call."""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from datetime import datetime
from pathlib import Path

import orjson

from streams.codec import InvalidEvent
from streams.settings import Settings, SettingsError, load_settings

log = logging.getLogger("riskwatch")


def _iso(value: str) -> float:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 time: {value!r}") from None
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError("give a UTC offset, e.g. 2026-01-05T00:00:00Z")
    return parsed.timestamp()


def _scenario_mix(value: str) -> dict[str, int]:
    """``none`` or ``typology=n,typology=n``."""
    if value == "none":
        return {}
    mix: dict[str, int] = {}
    for part in value.split(","):
        name, sep, count = part.partition("=")
        if not sep or not count.isdigit():
            raise argparse.ArgumentTypeError(f"scenario mix must be typology=count[,...] or none, got {part!r}")
        mix[name.strip()] = int(count)
    return mix


def cmd_broker(args: argparse.Namespace, settings: Settings) -> int:
    from streams.broker import EmbeddedBroker

    broker = EmbeddedBroker(host=args.host, port=args.port).start()
    print(f"embedded broker listening: RISKWATCH_BROKER_URL={broker.url}  (memory storage; Ctrl-C stops it)",
          flush=True)
    try:
        _wait_for_signal()
    finally:
        broker.stop()
    return 0


def _wait_for_signal() -> None:
    stop = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.append(1))
    while not stop:
        time.sleep(0.2)


def cmd_topics(args: argparse.Namespace, settings: Settings) -> int:
    from streams.topics import ensure_topics

    statuses = ensure_topics(settings, create=not args.check)
    missing = 0
    for status in statuses:
        state = "missing" if status.partitions is None else ("created" if status.created else "ok")
        missing += status.partitions is None
        print(f"{status.name:32} {state:8} partitions={status.partitions or '-'}")
    return 1 if missing else 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from streams.app import run_worker

    run_worker(settings, loglevel=args.loglevel)
    return 0


def cmd_generate(args: argparse.Namespace, settings: Settings) -> int:
    from streams.generator import GeneratorConfig, duration_days, generate_with_registry, scale_scenarios

    events = args.events
    if args.duration is not None:
        if not args.rate:
            print("--duration needs --rate", file=sys.stderr)
            return 2
        events = int(args.rate * args.duration)
    start = args.start
    if start is None and args.out is None:
        start = time.time() - (args.days or duration_days(events)) * 86_400.0  # to the topics: a timeline ending now
    mix = args.scenarios if args.scenarios is not None else scale_scenarios(events)
    try:
        config = GeneratorConfig(seed=args.seed, events=events, benign=not args.no_benign, scenario_mix=mix, days=args.days,
                                 **({"start": start} if start is not None else {}))
        generated, truth, registry = generate_with_registry(config)
    except ValueError as exc:
        print(f"riskwatch generate: {exc}", file=sys.stderr)
        return 2
    if args.truth:
        with open(args.truth, "wb") as out:
            for record in truth:
                out.write(orjson.dumps(record.to_dict()) + b"\n")
    if args.out:
        with open(args.out, "wb") as out:
            for record in registry:  # the partner registry first, as it is published first
                out.write(orjson.dumps(record) + b"\n")
            for item in generated:
                out.write(orjson.dumps(item.event) + b"\n")
        print(f"wrote {len(registry)} partner records and {len(generated)} events to {args.out}, "
              f"{len(truth)} truth records", file=sys.stderr)
        return 0
    from streams.publish import produce, produce_registry

    produce_registry(settings, registry)
    sent = produce(settings, generated, rate=args.rate)
    print(f"sent {sent} events to {settings.broker_url}", file=sys.stderr)
    return 0


def cmd_partners_load(args: argparse.Namespace, settings: Settings) -> int:
    from streams.partners import load_registry

    result = load_registry(settings, args.file)
    for number, reason, message in result.rejected:
        print(f"{args.file}:{number}: {reason}: {message}", file=sys.stderr)
    print(f"published {result.published} partner records to {settings.topics.partner_registry}, "
          f"{len(result.rejected)} rejected", file=sys.stderr)
    return 1 if result.rejected else 0


def cmd_partners_show(args: argparse.Namespace, settings: Settings) -> int:
    from streams.partners import render, show_partner

    description = show_partner(settings, args.partner_id)
    if description is None:
        print(f"partner {args.partner_id} is not in {settings.topics.partner_registry}", file=sys.stderr)
        return 1
    sys.stdout.buffer.write(render(description) + b"\n")
    return 0


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    from streams.replay import replay

    started = time.perf_counter()
    result = replay(args.events, args.out, args.dlq, settings.detectors, settings.max_future_skew_s,
                    policy=settings.alert_policy)
    took = time.perf_counter() - started
    reasons = ", ".join(f"{k}={v}" for k, v in sorted(result.rejected_by_reason.items())) or "none"
    print(f"{result.events} events, {result.alerts} alerts, {result.rejected} rejected ({reasons}) "
          f"in {took:.2f} s", file=sys.stderr)
    return 0


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from streams.report import assemble, default_period, gather_history, gather_topics
    from streams.report_html import render

    if (args.events is None) == (not args.from_topics):
        print("riskwatch report: give EVENTS.jsonl or --from-topics (one of them)", file=sys.stderr)
        return 2
    started = time.perf_counter()
    if args.from_topics:
        gathered = gather_topics(settings)
    else:
        gathered = gather_history(args.events, settings.detectors, settings.alert_policy,
                                  max_future_skew_s=settings.max_future_skew_s)
    period = args.period or default_period(gathered)
    if period is None:
        print("riskwatch report: no events or scorecards to report on", file=sys.stderr)
        return 1
    try:
        report = assemble(gathered, period)
    except ValueError as exc:
        print(f"riskwatch report: {exc}", file=sys.stderr)
        return 2
    if args.out:
        args.out.write_bytes(render(report))
    if args.json:
        print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
    print(f"report {period}: {len(report['partners'])} partners, {len(report['branches'])} branches, "
          f"{len(report['proposals'])} proposals, {report['alerts']['total']} alerts, from {gathered.source} "
          f"in {time.perf_counter() - started:.2f} s" + (f"; wrote {args.out}" if args.out else ""), file=sys.stderr)
    return 0


def cmd_tail(args: argparse.Namespace, settings: Settings) -> int:
    from streams.tail import printer, tail_alerts

    stop: list[int] = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    try:
        tail_alerts(settings, from_beginning=args.from_beginning, max_alerts=args.max_alerts,
                    idle_timeout_s=args.idle_timeout, on_alert=printer(args.json), should_stop=lambda: bool(stop))
    except KeyboardInterrupt:
        pass
    return 0


def cmd_evaluate_generated(args: argparse.Namespace, settings: Settings) -> int:
    from streams.evaluate import evaluate_generated, format_table
    from streams.progress import Progress

    with Progress(0, "events") as bar:
        result = evaluate_generated(args.seed, args.events, settings.detectors, progress=bar)
    if args.chart:
        from streams.chart import typology_chart

        args.chart.write_bytes(typology_chart(result))
    print(orjson.dumps(result).decode() if args.json else format_table(result))
    return 0


def cmd_act(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import datetime, timezone

    from kafka import KafkaProducer

    from streams.actions import decode_action, encode_action

    now = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
    action = {"action": args.action, "who": args.who, "at": args.at or now}
    if args.action != "scorecards":
        action["subject"] = args.subject
    if args.action in ("ack", "resolve"):
        action["alert_id"] = args.alert_id
    if args.action == "resolve":
        action["disposition"] = args.disposition
    if args.action == "suppress":
        action.update(entity_type=args.entity_type, entity_id=args.entity_id, typology=args.typology,
                      until=args.until, reason=args.reason)
    decode_action(orjson.dumps(action))  # the worker would dead-letter it: say so here instead
    key, value = encode_action(action)
    producer = KafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks=1, **settings.kafka_client_config)
    producer.send(settings.topics.actions, key=key, value=value)
    producer.flush()
    producer.close()
    print(f"sent {args.action} to {settings.topics.actions}", file=sys.stderr)
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from streams.demo import run_demo

    return run_demo(settings, rate=args.rate, duration=args.duration, seed=args.seed)


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    from streams.bench import plan_for, run_bench
    from streams.bench_report import format_table, to_json

    plan = plan_for(args.quick, events=args.events, entity_events=args.entity_events, seed=args.seed)
    result = run_bench(settings, plan, keep=args.keep)
    if args.json:
        print(format_table(result), file=sys.stderr)
        print(to_json(result).decode())
    else:
        print(format_table(result))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="riskwatch", description="Risk early warning for insurers: mis-selling and unusual fund flows. "
        "Every command reads the broker from RISKWATCH_BROKER_URL (default kafka://127.0.0.1:9092).")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("broker", help="run the embedded Kafka-protocol broker (Tansu, memory storage)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=9092, help="port; 0 picks a free one (default 9092)")
    p.set_defaults(func=cmd_broker)

    p = sub.add_parser("topics", help="create the topics, or check them with --check (idempotent)")
    p.add_argument("--check", action="store_true", help="only report; exit 1 if a topic is missing")
    p.set_defaults(func=cmd_topics)

    p = sub.add_parser("worker", help="run the faust worker (all detectors)")
    p.add_argument("--loglevel", default="info", choices=["debug", "info", "warning", "error"])
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("generate", help="generate synthetic events with labelled scenarios")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--events", type=int, default=10_000, help="number of events (default 10000)")
    p.add_argument("--rate", type=float, default=None, help="events per second to the topics (default: as fast as possible)")
    p.add_argument("--duration", type=float, default=None, help="seconds to run at --rate (sets --events)")
    p.add_argument("--scenarios", type=_scenario_mix, default=None, metavar="MIX",
                   help="scenarios to inject: typology=count[,...] or none (default: a few of each)")
    p.add_argument("--no-benign", action="store_true", help="inject no benign look-alikes")
    p.add_argument("--start", type=_iso, default=None,
                   help="event time of the timeline's start (default 2026-01-05T00:00:00Z for --out, a day ago for topics)")
    p.add_argument("--days", type=float, default=None,
                   help="simulated days to spread the events over, e.g. 92 for a quarter "
                   "(default: one day per 100000 events)")
    p.add_argument("--out", type=Path, default=None, help="write JSON lines here instead of to the topics")
    p.add_argument("--truth", type=Path, default=None, help="write the injected scenarios here as JSON lines")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("partners", help="the partner registry: publish records, show a partner")
    partners = p.add_subparsers(dest="partners_command", required=True)
    a = partners.add_parser("load", help="validate the partner records of a JSON-lines file and publish them "
                                         "to the registry topic (event lines are skipped)")
    a.add_argument("file", type=Path, help="JSON-lines file of partner records (schema partner-record.v1)")
    a.set_defaults(func=cmd_partners_load)
    a = partners.add_parser("show", help="print a partner's registry record and its status now")
    a.add_argument("partner_id")
    a.set_defaults(func=cmd_partners_show)

    p = sub.add_parser("replay", help="run a JSON-lines file of events through the detectors, no broker")
    p.add_argument("events", type=Path)
    p.add_argument("--out", type=Path, required=True, help="alerts as JSON lines")
    p.add_argument("--dlq", type=Path, default=None, help="rejected lines with line number and reason")
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("report", help="the quarterly partner and branch report (one HTML file) from a history "
                       "file, or from the scorecard and alert-state topics of a running system")
    p.add_argument("events", type=Path, nargs="?", default=None, help="JSON-lines history of events")
    p.add_argument("--from-topics", action="store_true",
                   help="read risk.scorecards and risk.alerts.state instead of a history file")
    p.add_argument("--out", type=Path, default=None, metavar="REPORT.html", help="write the HTML report here")
    p.add_argument("--period", default=None, metavar="2026Q3",
                   help="calendar quarter (UTC, event time); default: the quarter with the most events "
                   "(history) or the latest one (topics)")
    p.add_argument("--json", action="store_true", help="print the report's data as JSON (keys in README)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("tail", help="print alerts from the alert topic")
    p.add_argument("--json", action="store_true", help="one JSON alert per line")
    p.add_argument("--from-beginning", action="store_true", help="start at the oldest alert, not the newest")
    p.add_argument("--max-alerts", type=int, default=None, help="stop after this many alerts")
    p.add_argument("--idle-timeout", type=float, default=None, help="stop after this many seconds without an alert")
    p.set_defaults(func=cmd_tail)

    p = sub.add_parser("evaluate", help="measure detection quality")
    evaluate = p.add_subparsers(dest="evaluation", required=True, metavar="EVALUATION")
    e = evaluate.add_parser("generated", help="a generated labelled day through the worker's engine: "
                            "per typology precision, recall, F1, median delay")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--events", type=int, default=None, help="events to generate (default: one day, 10000)")
    e.add_argument("--json", action="store_true", help='one JSON object: {"typologies": {...}}')
    e.add_argument("--chart", type=Path, default=None, metavar="FILE.png",
                   help="also draw per-typology precision, recall and F1 as a PNG bar chart")
    e.set_defaults(func=cmd_evaluate_generated)
    from streams.evaluation_cli import add_evaluations, add_whatif

    add_evaluations(evaluate)
    add_whatif(sub)

    p = sub.add_parser("act", help="acknowledge, resolve or suppress alerts, or ask for the scorecards "
                       "(writes to the actions topic)")
    acts = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, text in (("ack", "acknowledge an alert (stops its escalation)"),
                       ("resolve", "resolve an alert with a disposition"),
                       ("suppress", "stop new alerts of a typology for an entity until a time")):
        a = acts.add_parser(name, help=text)
        a.add_argument("--subject", required=True, help="the alert's subject field, e.g. customer:CU123")
        a.add_argument("--who", required=True, help="who acts (an id, not a name)")
        a.add_argument("--at", default=None, help="when (ISO-8601 with offset; default now)")
        if name in ("ack", "resolve"):
            a.add_argument("--alert-id", required=True)
        if name == "resolve":
            a.add_argument("--disposition", required=True, choices=["confirmed", "false_positive"])
        if name == "suppress":
            a.add_argument("--entity-type", required=True)
            a.add_argument("--entity-id", required=True)
            a.add_argument("--typology", required=True)
            a.add_argument("--until", required=True, help="ISO-8601 with offset")
            a.add_argument("--reason", required=True)
        a.set_defaults(func=cmd_act)
    a = acts.add_parser("scorecards", help="have the worker publish every scorecard it holds to risk.scorecards now")
    a.add_argument("--who", required=True, help="who asks (an id, not a name)")
    a.add_argument("--at", default=None, help="when (ISO-8601 with offset; default now)")
    a.set_defaults(func=cmd_act)

    p = sub.add_parser("demo", help="broker, topics, worker and generator together, live in the terminal")
    p.add_argument("--rate", type=float, default=200.0, help="events per second (default 200)")
    p.add_argument("--duration", type=float, default=None, help="stop after this many seconds (default: Ctrl-C)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("bench", help="measure throughput, latency, memory, restart and scaling "
                       "(starts its own embedded broker and workers)")
    p.add_argument("--quick", action="store_true", help="small loads, under a minute (CI's smoke test)")
    p.add_argument("--json", action="store_true", help="print one JSON object (README, Performance); "
                   "the table goes to stderr")
    p.add_argument("--events", type=int, default=None, help="main load (default 20000; --quick 400)")
    p.add_argument("--entity-events", type=int, default=None,
                   help="entity load, 4 tracked entities each (default 50000; --quick 200)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--keep", action="store_true", help="keep the logs and data directory")
    p.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.verbose:  # kafka-python narrates every connection at INFO
        logging.getLogger("kafka").setLevel(logging.WARNING)
    try:
        settings = load_settings()
    except (SettingsError, ValueError) as exc:
        print(f"riskwatch: configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        return args.func(args, settings)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (``riskwatch ... | head``): stop quietly, as a Unix filter does. Point
        # stdout at /dev/null so that the interpreter's final flush does not raise a second time.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a filter killed by a closed pipe
    except InvalidEvent as exc:
        print(f"riskwatch: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
