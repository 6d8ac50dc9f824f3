"""The project's settings for the `qcluster` that `bench` starts.

The bench's cluster runs the run's partition tasks and nothing else: with its
scheduler on it would also run the schedules the migrations install (the daily
run, dispatch, the API's overdue job) on the bench's portfolio, at the same
time as the measured run.
"""

from config.settings import *  # noqa: F403

Q_CLUSTER = {**Q_CLUSTER, "scheduler": False}  # noqa: F405
