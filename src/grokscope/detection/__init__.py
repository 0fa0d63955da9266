"""Detection: the formal grokking definition, applied to every member's curves."""

from grokscope.detection.grokking import VERDICTS, GrokkingEvents, OnlineStatus, detect

__all__ = ["VERDICTS", "GrokkingEvents", "OnlineStatus", "detect"]
