"""Real image files made with Pillow for the photo tests: a phone's JPEG with GPS in its EXIF, PNGs,
a GIF, and things that only pretend to be photos."""

from __future__ import annotations

import io
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image
from PIL.PngImagePlugin import PngInfo

# Somewhere in 枣阳市, as a phone writes it: degrees, minutes, seconds.
GPS = {
    ExifTags.GPS.GPSLatitudeRef: "N",
    ExifTags.GPS.GPSLatitude: (32.0, 7.0, 30.0),
    ExifTags.GPS.GPSLongitudeRef: "E",
    ExifTags.GPS.GPSLongitude: (112.0, 45.0, 12.0),
}


def phone_exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Zaoyang Phone"
    exif[ExifTags.Base.Model] = "ZP-1"
    exif[ExifTags.Base.DateTime] = "2026:11:10 15:30:00"
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.IFD.GPSInfo] = GPS
    return exif


def jpeg_bytes(size: tuple[int, int] = (64, 48), *, gps: bool = False, orientation: int = 1) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", size, (200, 120, 40))
    if gps or orientation != 1:
        image.save(out, "JPEG", quality=90, exif=phone_exif(orientation), comment=b"taken at home")
    else:
        image.save(out, "JPEG", quality=90)
    return out.getvalue()


def png_bytes(size: tuple[int, int] = (40, 30), *, text: bool = False, mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    image = Image.new(mode, size, (30, 160, 90, 255) if mode == "RGBA" else (30, 160, 90))
    if text:
        info = PngInfo()
        info.add_text("Comment", "张小明家,沙店村三组12号")
        image.save(out, "PNG", pnginfo=info, exif=phone_exif())
    else:
        image.save(out, "PNG")
    return out.getvalue()


def gif_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("P", (20, 20)).save(out, "GIF")
    return out.getvalue()


def upload(name: str, data: bytes, content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def has_exif(data: bytes) -> bool:
    with Image.open(io.BytesIO(data)) as image:
        return bool(image.getexif()) or "exif" in image.info


# --- The largest photos the rules let through, for the memory tests and bench/photos.py ----------------


def gradient(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """A smooth picture: it compresses to a small file whatever its pixels, as a bomb would."""
    ramp = Image.linear_gradient("L").resize(size)
    bands = [ramp, ramp.transpose(Image.Transpose.FLIP_LEFT_RIGHT), ramp.transpose(Image.Transpose.FLIP_TOP_BOTTOM)]
    return Image.merge(mode, bands + [ramp] * (len(mode) - 3))


def largest_photos() -> dict[str, bytes]:
    """One file at each cap of guidance.photos, named by what it is. Each is the worst of its kind for
    memory: 4:4:4 colour (no chroma subsampling), and sizes where the JPEG decoder cannot reduce."""
    from guidance import photos

    side = 2 * photos.MAX_SIDE - 1  # the largest square a JPEG decoder must decode at full size
    full = (3840, photos.MAX_FULL_DECODE_PIXELS // 3840)  # a 4K screen's width, at the full-decode cap
    phone = (8160, 6144)  # a 50-MP mode's photo, turned on its side
    assert phone[0] * phone[1] <= photos.MAX_PIXELS
    kinds: list[tuple[str, tuple[int, int], str, dict[str, Any]]] = [
        ("phone_50mp_sideways.jpg", phone, "RGB", {"exif": phone_exif(6), "subsampling": 0}),
        ("square_full_decode.jpg", (side, side), "RGB", {"subsampling": 0}),
        ("progressive_full.jpg", full, "RGB", {"progressive": True, "subsampling": 0}),
        ("screenshot_full.png", full, "RGBA", {}),
    ]
    made: dict[str, bytes] = {}
    for name, size, mode, options in kinds:  # one picture in memory at a time
        out = io.BytesIO()
        gradient(size, mode).save(out, "PNG" if name.endswith(".png") else "JPEG", **options)
        made[name] = out.getvalue()
    return made
