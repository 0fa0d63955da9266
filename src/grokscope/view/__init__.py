"""Looking at results: the HTML report of any results directory, kept current while it
trains (`watch`), and exports to the trackers researchers already use (`export`).

It sits above runs, sweeps and reproductions because it reads all three.
"""

from grokscope.view.kinds import kind_of
from grokscope.view.report import report_payload, write_report
from grokscope.view.watch import watch

__all__ = ["kind_of", "report_payload", "watch", "write_report"]
