"""grokscope: reproduce, measure, sweep and explain grokking."""

__version__ = "0.1.0"
