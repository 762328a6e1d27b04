"""A client process that reads the broker and writes the history flat out.

Run as ``python -m tests.faults.busy_client HOME BROKER_URL QUEUE JOB_ID``. Until
the job ends, each pass stores what is new on the streams without waiting, then
renames the job, so its writes meet the other clients' at every step. It prints the
last name it gave and exits 0, or leaves a traceback and exits 1.
"""

from __future__ import annotations

import sys

from shared.client import Client
from shared.events import TERMINAL
from shared.settings import Settings


def main(home: str, broker_url: str, queue: str, job_id: str) -> None:
    settings = Settings.load(home=home, broker_url=broker_url, queue=queue, environ={})
    client = Client(settings)
    passes = 0
    while client.store.get_job(job_id).status not in TERMINAL:
        client.ingestor.poll()
        passes += 1
        client.store.rename_job(job_id, f"renamed {passes}")
    print(f"renamed {passes}")


if __name__ == "__main__":
    main(*sys.argv[1:])
