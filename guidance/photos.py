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
from pathlib import PurePath

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from PIL import Image, ImageOps

from zaoyang_aid import orphans

from .models import HomeVisitPhoto, private_storage

logger = logging.getLogger(__name__)

MB = 1024 * 1024
# Per photo, before cleaning. A phone's 12-megapixel JPEG is 3-6 MB; the proxy in front of the app
# must accept HomeVisitPhoto.MAX_PER_VISIT times this in one request (nginx client_max_body_size).
MAX_PHOTO_BYTES = 8 * MB
# What a photo may cost to decode is read from its header, before a pixel is decoded. A 100 kB PNG of
# one colour can claim 60 million pixels, and a PNG (or a multi-scan JPEG) can only be decoded whole:
# Pillow keeps 4 bytes a pixel, a progressive JPEG's decoder up to 6 more. So there are two caps.
# A single-scan JPEG (what every phone camera writes) is decoded at 1/2, 1/4 or 1/8 of its size, never
# much above MAX_SIDE, so its cap only keeps out what no phone saves: 8160 x 6144 = 50.1 MP is the
# largest photo of the common 50-MP modes (12-48 MP is typical); the rare 200-MP modes are refused
# (and are over MAX_PHOTO_BYTES anyway).
MAX_PIXELS = 52_000_000
# A PNG from a phone is a screenshot (a 12.9-inch iPad's, the largest, is 2048 x 2732 = 5.6 MP); a
# progressive or other multi-scan JPEG is an editor's or an app's export, never a camera's own file.
# The cap lets a 4K screen's 3840 x 2160 through and decodes to at most 33 MB (50 MB more for a
# progressive JPEG's coefficients), so six photos of any kind stay under 200 MB (bench/photos.py).
MAX_FULL_DECODE_PIXELS = 8_300_000
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
        raise _too_many_pixels(name, MAX_PIXELS) from None
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
            _check_pixels(probe, raw, name)
            probe.verify()
        image = Image.open(io.BytesIO(raw), formats=list(CONTENT_TYPES))
    except ValidationError:
        raise
    except Image.DecompressionBombError:
        raise _too_many_pixels(name, MAX_PIXELS) from None
    except Exception as exc:  # UnidentifiedImageError, SyntaxError from verify(), struct errors …
        raise not_an_image from exc
    return image


def _check_pixels(probe: Image.Image, raw: bytes, name: str) -> None:
    """Refuse, from the header alone, a picture that would cost too much memory to decode."""
    pixels = probe.width * probe.height
    if pixels > MAX_PIXELS:
        raise _too_many_pixels(name, MAX_PIXELS)
    if probe.format == "PNG" and pixels > MAX_FULL_DECODE_PIXELS:
        raise _too_many_pixels(name, MAX_FULL_DECODE_PIXELS, kind="PNG图片")
    if probe.format == "JPEG" and pixels > MAX_FULL_DECODE_PIXELS and jpeg_has_several_scans(raw):
        raise _too_many_pixels(name, MAX_FULL_DECODE_PIXELS, kind="渐进式JPEG图片")


def jpeg_has_several_scans(raw: bytes) -> bool:
    """True when the JPEG's image data comes in more than one scan (progressive, or sequential with
    one colour per scan): libjpeg must then hold every coefficient of the whole picture at once,
    whatever size it is asked to decode at. Walks the markers to the first scan and reads past its
    entropy-coded data: a single-scan JPEG ends there (EOI), another has tables or a scan next."""
    pos = 2  # after SOI
    while pos + 4 <= len(raw):
        if raw[pos] != 0xFF:
            return False  # not a marker where one must be: verify() will tell what is broken
        marker = raw[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        length = int.from_bytes(raw[pos + 2 : pos + 4], "big")
        pos += 2 + length
        if marker == 0xDA:  # SOS: the first scan's data follows its header
            return _marker_after_entropy_data(raw, pos) not in (0xD9, None)
    return False


def _marker_after_entropy_data(raw: bytes, pos: int) -> int | None:
    """The first marker after entropy-coded data: 0xFF 0x00 is a stuffed byte and RST0-7 belong to it."""
    while True:
        pos = raw.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= len(raw):
            return None
        following = raw[pos + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            pos += 1
            continue
        return following


def _reencode(image: Image.Image, name: str) -> CleanPhoto:
    """Upright, at most MAX_SIDE on the long side, written anew from the bare pixels.

    Ordered so that the decoded picture is held once: a JPEG is decoded at 1/2, 1/4 or 1/8 of its
    size (no smaller than MAX_SIDE on the long side), the picture is scaled down in place before it
    is turned upright, and every later copy is of the small picture."""
    fmt = image.format or ""
    if fmt == "JPEG":
        image.draft("RGB", _draft_size(image.size))
    image = _plain_mode(image, fmt)
    image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    upright = ImageOps.exif_transpose(image)  # the phone's orientation tag turned into real pixels
    image.close()
    # A new image from the bare pixels: no info dict, so no EXIF, XMP, comment, text or ICC travels on.
    bare = Image.frombytes(upright.mode, upright.size, upright.tobytes())
    out = io.BytesIO()
    if fmt == "JPEG":
        bare.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    else:
        bare.save(out, "PNG")
    return CleanPhoto(original_name=name, data=out.getvalue(), format=fmt, width=bare.width, height=bare.height)


def _draft_size(size: tuple[int, int]) -> tuple[int, int]:
    """The smallest size, in the picture's own proportions, whose long side is MAX_SIDE: the JPEG
    decoder then picks the largest of its 1/2, 1/4, 1/8 reductions that keeps that much."""
    width, height = size
    long_side = max(width, height, 1)
    if long_side <= MAX_SIDE:
        return size
    return max(1, -(-width * MAX_SIDE // long_side)), max(1, -(-height * MAX_SIDE // long_side))


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


def _too_many_pixels(name: str, limit: int, *, kind: str = "") -> ValidationError:
    what = f"是{kind},像素" if kind else "的像素"
    return ValidationError(
        f"照片 {name} {what}超过{limit // 10_000}万,请缩小后再上传。",
        code="photo_too_many_pixels",
    )


# --- Files left behind ----------------------------------------------------------------------------

# A photo's file is written before its row commits (services._photos_store): zaoyang_aid.orphans.
ORPHAN_MIN_AGE = orphans.ORPHAN_MIN_AGE


def orphan_photos_delete(*, now: dt.datetime, dry_run: bool = False) -> list[str]:
    """Delete photo files under MEDIA_ROOT/home-visits/ that no HomeVisitPhoto names and that are older
    than ORPHAN_MIN_AGE; the demo's shared pool is never touched (zaoyang_aid.orphans)."""
    return orphans.orphan_files_delete(
        storage=private_storage,
        folder="home-visits",
        shared=HomeVisitPhoto.SHARED_DIR,
        named=lambda batch: HomeVisitPhoto.objects.filter(image__in=batch).values_list("image", flat=True),
        now=now,
        dry_run=dry_run,
        what="home-visit photo",
    )
