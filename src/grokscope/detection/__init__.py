"""Detection: the formal grokking definition, applied to every member's curves."""

from grokscope.detection.grokking import (
    DETECTOR_VERSION,
    VERDICTS,
    GrokkingEvents,
    OnlineStatus,
    detect,
)

__all__ = ["DETECTOR_VERSION", "VERDICTS", "GrokkingEvents", "OnlineStatus", "detect"]
