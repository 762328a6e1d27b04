"""The job detail panel: overview, loss charts, sample gallery and log of one job."""

from gui.detail.panel import DetailPanel

__all__ = ["DetailPanel"]
