"""Run the test suite: ``python3 scripts/test.py [pytest args]``.

Creates or updates .venv with requirements-dev.txt (skipped while its stamp is current), then runs
pytest in it with the given arguments. pytest.ini loads zaoyang_aid.testing_env, which gives the run
its own SECRET_KEY, so DEBUG need not be set. Exits with pytest's code; "no tests collected" (5) is
a failure too, with a line saying so.
"""

import subprocess
import sys

import _venv  # first: it refuses a Python older than 3.11 with a clear message

NO_TESTS_COLLECTED = 5


def main(args: list[str]) -> int:
    python = _venv.ensure("requirements-dev.txt")
    result = subprocess.run([str(python), "-m", "pytest", *args], cwd=_venv.ROOT, env=_venv.child_env(), check=False)
    if result.returncode == NO_TESTS_COLLECTED:
        print(
            f"test.py: FAILED - pytest collected no tests (exit {NO_TESTS_COLLECTED}) for "
            f"{' '.join(args) or 'the configured testpaths'}; a run that tests nothing does not pass.",
            file=sys.stderr,
        )
    return result.returncode


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
