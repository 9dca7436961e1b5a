"""The audit trail as the framework layer sees it: one call, recorded by the app the setting names.

The API base and the admin record every write, but the trail's table (users.UserActivity) belongs
to an app above them; `settings.ACTIVITY_RECORDER` names its service (the way AUTH_USER_MODEL names
the user model), so the framework does not import the users app.
"""

from django.conf import settings
from django.utils.module_loading import import_string


def activity_record(**kwargs):
    """Append one row to the audit trail through the service `settings.ACTIVITY_RECORDER` names."""
    return import_string(settings.ACTIVITY_RECORDER)(**kwargs)
