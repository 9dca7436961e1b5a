"""Factories for django-celery-beat's schedule models, whose admin the project serves."""

from datetime import UTC, datetime, timedelta

import factory
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

T = datetime(2025, 1, 1, tzinfo=UTC)


class IntervalScheduleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IntervalSchedule

    every = factory.Sequence(lambda n: n + 1)
    period = IntervalSchedule.MINUTES


class CrontabScheduleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CrontabSchedule

    minute = factory.Sequence(lambda n: str(n % 60))
    hour = "*"


class SolarScheduleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SolarSchedule

    event = "sunrise"
    latitude = factory.Sequence(lambda n: n % 90)
    longitude = 0


class ClockedScheduleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClockedSchedule

    clocked_time = factory.Sequence(lambda n: T + timedelta(hours=n))


class PeriodicTaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PeriodicTask

    name = factory.Sequence(lambda n: f"task {n}")
    task = "marketdata.sync_candles"
    interval = factory.SubFactory(IntervalScheduleFactory)
    enabled = False
