"""The errors genqueue raises for people to read.

    GenqueueError
    ├── ConfigError        settings that cannot be used (bad URL, unreadable config file)
    ├── SpecError          a job spec value out of range or of the wrong type
    ├── DatasetError       a dataset path that is missing, empty or of an unknown kind
    ├── BrokerError        Redis cannot be reached or refused the connection
    ├── JobNotFound        no job with that id in the history
    └── JobFailed          a training run ended in an error (raised inside workers)

Each message says what failed, with the value, and what to do next.
"""

from __future__ import annotations


class GenqueueError(Exception):
    """Base of every error genqueue reports to a person."""


class ConfigError(GenqueueError):
    """Settings that cannot be used."""


class SpecError(GenqueueError):
    """A job spec that fails validation."""


class DatasetError(GenqueueError):
    """A dataset that cannot be found or read."""


class BrokerError(GenqueueError):
    """The broker cannot be reached."""


class JobNotFound(GenqueueError):
    """No job with the given id in the history."""


class JobFailed(GenqueueError):
    """A job ended in an error."""
