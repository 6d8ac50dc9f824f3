"""The project's settings for the two-scheduler test's `qcluster` processes.

django-q2 calls its scheduler once its guard loop has counted 30 s of cycles;
with a 30 s cycle that is the first pass, right after start, so two clusters
started together reach the due schedule at the same moment instead of half a
minute later.
"""

from config.settings import *  # noqa: F403

Q_CLUSTER = {**Q_CLUSTER, "guard_cycle": 30, "workers": 1}  # noqa: F405
