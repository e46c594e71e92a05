"""Home-visit photos: checked by what the bytes are, not by what the file claims to be, and re-encoded
so that nothing but pixels is kept.

A photo of a child's home taken on a phone carries the phone's EXIF: GPS coordinates of the home,
the time, the device. ``clean_photo`` decodes the upload with Pillow, refuses anything that is not a
JPEG or PNG (whatever its name, extension or declared content type), refuses files and images that
are too big, turns the picture upright as the phone meant it, scales it down and writes it out again
from the bare pixels, so no EXIF, XMP, comment, text chunk or ICC profile survives.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from dataclasses import dataclass
from pathlib import Path, PurePath

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from PIL import Image, ImageOps

from .models import HomeVisitPhoto, private_storage

logger = logging.getLogger(__name__)

MB = 1024 * 1024
# Per photo, before cleaning. A phone's 12-megapixel JPEG is 3-6 MB; the proxy in front of the app
# must accept HomeVisitPhoto.MAX_PER_VISIT times this in one request (nginx client_max_body_size).
MAX_PHOTO_BYTES = 8 * MB
# Decoding a 10,000 x 10,000 PNG of one colour takes 300 MB of memory from a 100 kB file; a 50 MP
# phone photo has 50 million pixels, so this lets every real photo through and no bomb.
MAX_PIXELS = 60_000_000
# Stored photos are at most this many pixels on the long side: enough to read a room, ~0.5 MB.
MAX_SIDE = 2000
JPEG_QUALITY = 85

CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png"}
EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png"}


@dataclass(frozen=True)
class CleanPhoto:
    """A photo that passed the checks, re-encoded: ready to be written to the private storage."""

    original_name: str
    data: bytes
    format: str  # "JPEG" or "PNG"
    width: int
    height: int

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.format]

    @property
    def size(self) -> int:
        return len(self.data)


def size_label(n: int) -> str:
    if n >= MB and n % MB == 0:
        return f"{n // MB}MB"
    if n >= 1024:
        return f"{n / 1024:.0f}KB"
    return f"{n}字节"


def display_name(upload: UploadedFile) -> str:
    """The file's own name, without any folder a browser may send, cut short for a message."""
    name = PurePath((upload.name or "").replace("\\", "/")).name or "(无名文件)"
    return name if len(name) <= 60 else name[:57] + "…"


def clean_photo(upload: UploadedFile) -> CleanPhoto:
    """Check one upload and return it re-encoded; ValidationError (naming the file) when refused."""
    name = display_name(upload)
    if upload.size is not None and upload.size > MAX_PHOTO_BYTES:
        raise _too_large(name)
    upload.seek(0)
    raw = upload.read(MAX_PHOTO_BYTES + 1)  # never trust the declared size alone
    if len(raw) > MAX_PHOTO_BYTES:
        raise _too_large(name)
    image = _open_checked(raw, name)
    try:
        return _reencode(image, name)
    except Image.DecompressionBombError:
        raise _too_many_pixels(name) from None
    except Exception as exc:  # Pillow meets hostile bytes with many exception types: all mean "broken"
        raise ValidationError(f"照片 {name} 已损坏,无法读取,请重新拍摄或选择。", code="photo_broken") from exc


def _open_checked(raw: bytes, name: str) -> Image.Image:
    """Open by content (only the JPEG and PNG decoders are tried), check the size from the header,
    verify the file's structure, and reopen it for decoding (verify() uses the image up)."""
    not_an_image = ValidationError(f"照片 {name} 不是JPEG或PNG图片。", code="photo_format")
    try:
        with Image.open(io.BytesIO(raw), formats=list(CONTENT_TYPES)) as probe:
            if probe.format not in CONTENT_TYPES:
                raise not_an_image
            if probe.width * probe.height > MAX_PIXELS:
                raise _too_many_pixels(name)
            probe.verify()
        image = Image.open(io.BytesIO(raw), formats=list(CONTENT_TYPES))
    except ValidationError:
        raise
    except Image.DecompressionBombError:
        raise _too_many_pixels(name) from None
    except Exception as exc:  # UnidentifiedImageError, SyntaxError from verify(), struct errors …
        raise not_an_image from exc
    return image


def _reencode(image: Image.Image, name: str) -> CleanPhoto:
    """Upright, at most MAX_SIDE on the long side, written anew from the bare pixels."""
    fmt = image.format or ""
    if fmt == "JPEG":
        image.draft("RGB", (MAX_SIDE, MAX_SIDE))  # decode a 50 MP JPEG at a fraction of the memory
    upright = ImageOps.exif_transpose(image)  # the phone's orientation tag turned into real pixels
    upright = _plain_mode(upright, fmt)
    upright.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    # A new image from the bare pixels: no info dict, so no EXIF, XMP, comment, text or ICC travels on.
    bare = Image.frombytes(upright.mode, upright.size, upright.tobytes())
    out = io.BytesIO()
    if fmt == "JPEG":
        bare.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    else:
        bare.save(out, "PNG")
    return CleanPhoto(original_name=name, data=out.getvalue(), format=fmt, width=bare.width, height=bare.height)


def _plain_mode(image: Image.Image, fmt: str) -> Image.Image:
    """A mode whose pixels carry everything (no palette, no transparency kept in the info dict)."""
    if fmt == "JPEG":
        return image if image.mode in ("RGB", "L") else image.convert("RGB")
    if image.mode in ("RGBA", "LA"):
        return image
    if "transparency" in image.info or image.mode == "PA":
        return image.convert("RGBA")
    if image.mode in ("RGB", "L"):
        return image
    return image.convert("RGB")


def _too_large(name: str) -> ValidationError:
    return ValidationError(
        f"照片 {name} 超过{size_label(MAX_PHOTO_BYTES)},请压缩后再上传。",
        code="photo_too_large",
    )


def _too_many_pixels(name: str) -> ValidationError:
    return ValidationError(
        f"照片 {name} 的像素超过{MAX_PIXELS // 10_000}万,请缩小后再上传。",
        code="photo_too_many_pixels",
    )


# --- Files left behind ----------------------------------------------------------------------------

# A photo's file is written before its row commits (services._photos_store). A process killed in
# between (OOM, a deploy) leaves a file no row names; this age keeps uploads still in flight safe.
ORPHAN_MIN_AGE = dt.timedelta(days=1)
ORPHAN_BATCH = 1000


def orphan_photos_delete(*, now: dt.datetime, dry_run: bool = False) -> list[str]:
    """Delete photo files under MEDIA_ROOT/home-visits/ that no HomeVisitPhoto names and that are older
    than ORPHAN_MIN_AGE; the demo's shared pool is never touched. Returns the names deleted (or, dry,
    that would be). One query per ORPHAN_BATCH files. Safe to run twice or to kill halfway: each
    file is judged on its own, and a file whose row appears meanwhile is young and kept."""
    root = Path(private_storage.location)
    cutoff = (now - ORPHAN_MIN_AGE).timestamp()
    shared = root / HomeVisitPhoto.SHARED_DIR
    candidates = [
        path.relative_to(root).as_posix()
        for path in sorted((root / "home-visits").rglob("*"))
        if path.is_file() and shared not in path.parents and path.stat().st_mtime < cutoff
    ]
    deleted: list[str] = []
    for start in range(0, len(candidates), ORPHAN_BATCH):
        batch = candidates[start : start + ORPHAN_BATCH]
        named = set(HomeVisitPhoto.objects.filter(image__in=batch).values_list("image", flat=True))
        for name in batch:
            if name not in named:
                if not dry_run:
                    private_storage.delete(name)
                deleted.append(name)
    if deleted and not dry_run:
        logger.warning("Deleted %d home-visit photo files that no record named.", len(deleted))
    return deleted
