"""The project's virtual environment, shared by scripts/start.py, scripts/test.py and .ci/run.

Creates ``.venv`` with the Python that runs the script and installs a requirements file into it. The
install is skipped while a stamp file in ``.venv`` holds the current hash of that file (and of the
files it includes with ``-r``), so a second start costs nothing.

Also a command: ``python3 scripts/_venv.py requirements-dev.txt`` makes sure the venv is current.
"""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

MIN_PYTHON = (3, 11)

# Checked before anything below runs, so an older Python gets this line instead of a traceback.
if sys.version_info < MIN_PYTHON:
    sys.exit(
        "资助帮扶 needs Python {}.{} or newer; this is Python {}.{} ({}). Run the script with a newer python3.".format(
            *MIN_PYTHON, *sys.version_info[:2], sys.executable
        )
    )

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
VENV_PYTHON = VENV / "bin" / "python"


def venv_bin(name: str) -> Path:
    return VENV / "bin" / name


def _requirement_files(path: Path) -> list[Path]:
    """The file and every file it pulls in with ``-r``/``--requirement``, in order."""
    found = [path]
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("#", 1)[0].split()
        if len(parts) == 2 and parts[0] in {"-r", "--requirement"}:
            found += _requirement_files((path.parent / parts[1]).resolve())
    return found


def requirements_hash(path: Path) -> str:
    digest = hashlib.sha256()
    for file in _requirement_files(path):
        digest.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()


def _venv_works() -> bool:
    if not VENV_PYTHON.exists():
        return False
    probe = "import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)"
    return subprocess.run([str(VENV_PYTHON), "-c", probe], check=False).returncode == 0


def _create_venv() -> None:
    # A .venv that does not run (its Python was removed or is too old) is rebuilt, not patched.
    clear = VENV.exists()
    print(f"==> {'Rebuilding' if clear else 'Creating'} {VENV} with {sys.executable} ({sys.version.split()[0]})")
    import venv

    try:
        venv.EnvBuilder(with_pip=True, clear=clear).create(VENV)
    except subprocess.CalledProcessError as exc:  # ensurepip is missing on some distributions' Python
        sys.exit(f"Could not create .venv ({exc}). On Debian/Ubuntu: apt-get install python3-venv")


def ensure(requirements: str = "requirements.txt") -> Path:
    """Make .venv exist and hold ``requirements``; return the venv's python."""
    if not _venv_works():
        _create_venv()
    req = ROOT / requirements
    stamp = VENV / f".stamp-{req.name}"
    wanted = requirements_hash(req)
    if stamp.exists() and stamp.read_text().strip() == wanted:
        return VENV_PYTHON
    print(f"==> Installing {requirements} into .venv (the first time takes a minute or two)")
    # -qq: only errors; this machine's pip configuration warns about every package otherwise.
    pip = [str(VENV_PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-qq"]
    result = subprocess.run([*pip, "-r", str(req)], cwd=ROOT, check=False)
    if result.returncode != 0:
        stamp.unlink(missing_ok=True)
        sys.exit(f"pip could not install {requirements} (exit {result.returncode}); see the lines above.")
    stamp.write_text(wanted + "\n")
    return VENV_PYTHON


def child_env(**overrides: str) -> dict[str, str]:
    """The caller's environment with the venv first on PATH, as if it were activated."""
    env = dict(os.environ)
    env["VIRTUAL_ENV"] = str(VENV)
    env["PATH"] = f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env.pop("PYTHONHOME", None)
    env.update(overrides)
    return env


if __name__ == "__main__":
    ensure(sys.argv[1] if len(sys.argv) > 1 else "requirements.txt")
