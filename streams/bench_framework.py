"""The framework ceiling of ``riskwatch bench``: a faust app with the worker's
settings (:func:`streams.app.faust_settings`, the same short fetch wait) and one
agent per input topic that only decodes each value with orjson and counts.

Run as ``python -m streams.bench_framework --expect N --report FILE`` with the
``RISKWATCH_*`` variables of the bench; when N events are decoded it writes
``{"first": t, "last": t, "count": N}`` (wall-clock seconds of the first and
last event) to FILE and keeps running until stopped.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

import faust
import orjson

from streams.app import _short_fetch_wait, faust_settings
from streams.settings import load_settings


def build_app(expect: int, report: Path) -> faust.App:
    settings = load_settings()
    _short_fetch_wait()
    app = faust.App(settings.app_id, **faust_settings(settings))
    seen = {"count": 0, "first": 0.0}

    def decoded() -> None:
        seen["count"] += 1
        if seen["count"] == 1:
            seen["first"] = time.time()
        if seen["count"] == expect:
            partial = report.with_suffix(".part")
            partial.write_bytes(orjson.dumps({"first": seen["first"], "last": time.time(), "count": expect}))
            os.replace(partial, report)

    for name, topic_name in settings.topics.inputs.items():
        topic = app.topic(topic_name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")

        @app.agent(topic, name=f"bench.decode-{name}")
        async def decode(stream: Any) -> None:
            async for event in stream.events():
                orjson.loads(event.message.value)
                decoded()

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--expect", type=int, required=True)
    parser.add_argument("--report", type=Path, required=True)
    args = parser.parse_args()
    app = build_app(args.expect, args.report)
    faust.Worker(app, loglevel="warning", quiet=True).execute_from_commandline()


if __name__ == "__main__":
    main()
