"""The settings the test suite runs with: the production settings module, after the test run's own
environment (zaoyang_aid.testing_env) is in place. Nothing else differs."""

from . import testing_env  # noqa: F401 - must run before settings read the environment
from .settings import *  # noqa: F403
