"""Peak memory and time of cleaning six of the largest photos the home-visit form accepts in one request.

    DEBUG=1 .venv/bin/python bench/photos.py [--json]

Needs no database. Each set of six runs in a fresh process (so that its peak is its own): Django set
up, the photos given as files on disk (as Django spools uploads over FILE_UPLOAD_MAX_MEMORY_SIZE),
cleaned by HomeVisitForm.clean_photos as a request would. Prints, per set, the process's peak resident
memory, the part of it the photos added over the set-up process, and the wall time. The issue's
target: under 200 MB of peak process memory for six photos.

Prints the machine first (bench/floor.py; no database) and, per set, the floor measured in the same
run and the ratio to it: Pillow alone decoding the same six files in full (``Image.open`` + ``load``,
no checks, no resizing, no re-encoding), in a fresh process too, its wall time and what it added to
that process's peak. No bare page here: the bench needs no database, and the bare page does.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zaoyang_aid.settings")

# Six photos of one kind each, and six of every worst kind together.
SETS = {
    "6 x 50-MP phone JPEG (on its side)": ["phone_50mp_sideways.jpg"] * 6,
    "6 x 3999x3999 JPEG (no reduced decoding)": ["square_full_decode.jpg"] * 6,
    "6 x 8.3-MP progressive JPEG": ["progressive_full.jpg"] * 6,
    "6 x 8.3-MP RGBA PNG": ["screenshot_full.png"] * 6,
    "6 mixed": [
        "phone_50mp_sideways.jpg",
        "square_full_decode.jpg",
        "progressive_full.jpg",
        "screenshot_full.png",
        "square_full_decode.jpg",
        "screenshot_full.png",
    ],
}


def peak_mb() -> float:
    """This process's peak resident memory (VmHWM). Not getrusage's ru_maxrss: Linux carries that over
    from the parent through fork and exec, so a child would report the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    raise RuntimeError("no VmHWM in /proc/self/status: peak memory is measured on Linux only")


def child(folder: Path, names: list[str]) -> dict[str, float]:
    """In a fresh process: clean the six files as the form does and report this process's peak."""
    import django

    django.setup()
    from django.core.files.uploadedfile import UploadedFile

    from guidance.forms import HomeVisitForm

    before = peak_mb()
    uploads = []
    for name in names:
        path = folder / name
        uploads.append(UploadedFile(file=path.open("rb"), name=name, size=path.stat().st_size))
    form = HomeVisitForm.__new__(HomeVisitForm)  # clean_photos needs nothing but cleaned_data
    form.cleaned_data = {"photos": uploads}
    started = time.perf_counter()
    cleaned = form.clean_photos()
    seconds = time.perf_counter() - started
    if len(cleaned) != len(names):
        raise RuntimeError(f"cleaned {len(cleaned)} photos of {len(names)}")
    return {"peak_mb": peak_mb(), "setup_mb": before, "seconds": seconds}


def decode_child(folder: Path, names: list[str]) -> dict[str, float]:
    """In a fresh process: Pillow alone decoding the six files in full (the floor), with its peak."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None  # the floor decodes what the form accepts, without the form's checks
    before = peak_mb()
    started = time.perf_counter()
    for name in names:
        with Image.open(folder / name) as image:
            image.load()
    seconds = time.perf_counter() - started
    return {"peak_mb": peak_mb(), "setup_mb": before, "seconds": seconds}


def measure(labels: list[str]) -> dict[str, dict[str, float]]:
    import django

    django.setup()
    from guidance.tests.photo_files import largest_photos

    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, data in largest_photos().items():
            (folder / name).write_bytes(data)
        for label in labels:
            command = [sys.executable, __file__, "--child", tmp, *SETS[label]]
            output = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT).stdout  # noqa: S603 - this script
            results[label] = json.loads(output.strip().splitlines()[-1])
            command = [sys.executable, __file__, "--decode-child", tmp, *SETS[label]]
            output = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT).stdout  # noqa: S603 - this script
            alone = json.loads(output.strip().splitlines()[-1])
            results[label].update(floor_seconds=alone["seconds"], floor_added_mb=alone["peak_mb"] - alone["setup_mb"])
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--set", action="append", choices=list(SETS), help="only these sets (default: all)")
    parser.add_argument("--child", nargs="+")
    parser.add_argument("--decode-child", nargs="+")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(Path(args.child[0]), args.child[1:])))
        return
    if args.decode_child:
        print(json.dumps(decode_child(Path(args.decode_child[0]), args.decode_child[1:])))
        return
    import floor  # bench/ is not a package: its folder is on the path

    print(floor.machine(database=False), flush=True)
    results = measure(args.set or list(SETS))
    if args.json:
        print(json.dumps(results))
        return
    for label, figures in results.items():
        print(
            f"{label:42} peak {figures['peak_mb']:5.0f} MB (set-up process {figures['setup_mb']:.0f} MB, "
            f"photos +{figures['peak_mb'] - figures['setup_mb']:.0f} MB), {figures['seconds']:.2f} s"
            f" | floor (Pillow decoding them alone) {figures['floor_seconds']:.2f} s,"
            f" +{figures['floor_added_mb']:.0f} MB"
            f" -> {floor.ratio(figures['seconds'], figures['floor_seconds'])} the time"
        )


if __name__ == "__main__":
    main()
