"""brandpulse: social listening and brand advocacy monitor (the spine: config, store, CLI, run loop)."""

__version__ = "0.1.0"
