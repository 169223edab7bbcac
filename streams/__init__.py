"""Kafka-facing shell of riskwatch: settings, topics, codec, the faust worker and the CLI."""
