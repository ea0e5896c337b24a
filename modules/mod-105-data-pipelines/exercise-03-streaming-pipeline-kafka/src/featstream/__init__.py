"""105-03 featstream: real-time ML features from a Kafka-protocol broker."""

__version__ = "0.1.0"
