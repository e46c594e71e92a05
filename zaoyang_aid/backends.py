"""The password backend: Django's, reading the signed-in user's staff row with the user.

Every page asks where its user stands (access.scope_of: the role, and for school roles the school
and staff row, ``user.teacher``). Read with the user in one query instead of a second one on every
request (issue 12). A user without a staff row (county staff, admins) gets the join's empty side.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class StaffModelBackend(ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        model = get_user_model()
        try:
            user = model._default_manager.select_related("teacher").get(pk=user_id)
        except model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
