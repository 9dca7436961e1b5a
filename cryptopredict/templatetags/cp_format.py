"""Template filters of cryptopredict.formatting: `{% load cp_format %}{{ candle.close_price|number }}`."""

from django import template

from cryptopredict import formatting

register = template.Library()


@register.filter
def number(value, decimals=2):
    return formatting.number(value, decimals=int(decimals))


@register.filter
def percent(value, decimals=2):
    return formatting.percent(value, decimals=int(decimals))


@register.filter
def fraction_percent(value, decimals=2):
    return formatting.percent(value, fraction=True, decimals=int(decimals))


@register.filter
def multiple(value):
    return formatting.multiple(value)


@register.filter
def moment(value, tz=None):
    return formatting.moment(value, tz)


@register.filter
def timesince_short(value):
    """A timedelta in its largest unit: 3 d, 5 h, 12 min."""
    return formatting.duration(value)
