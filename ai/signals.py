"""Signals the ai services send about jobs, for apps above this one (e.g. alerts)."""

from django.dispatch import Signal

# A training or prediction job was marked failed (sent after the update). kwargs: job.
job_failed = Signal()
