"""Pure detectors: events and explicit state in, findings out.

Nothing in this package imports faust, a Kafka client, prometheus-client or
``streams``; that is what lets the worker, ``replay``, the benchmarks and the
unit tests run the very same code.
"""
