"""The Celery application. Tasks are thin entry points over functions that tests call directly."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zaoyang_aid.settings")

app = Celery("zaoyang_aid")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
