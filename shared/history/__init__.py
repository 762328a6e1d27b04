"""The job history: a SQLite file of jobs and their events, kept by the client.

``HistoryStore.open(path)`` creates or migrates the file; ``apply_events`` is the one
step that turns a job's event stream into rows, exactly once.
"""

from shared.history.apply import parse_stream_id
from shared.history.store import HistoryStore
from shared.history.views import EventView, ImageView, JobView, MetricPoint

__all__ = [
    "EventView",
    "HistoryStore",
    "ImageView",
    "JobView",
    "MetricPoint",
    "parse_stream_id",
]
