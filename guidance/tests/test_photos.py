"""guidance.photos: a photo is judged by its bytes, and comes out as bare pixels (no EXIF, no GPS)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import TemporaryUploadedFile
from PIL import Image

from guidance import photos

from .photo_files import gif_bytes, has_exif, jpeg_bytes, largest_photos, png_bytes, upload

BENCH = Path(__file__).resolve().parents[2] / "bench" / "photos.py"


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def refusal(file) -> str:
    with pytest.raises(ValidationError) as caught:
        photos.clean_photo(file)
    return " ".join(caught.value.messages)


def test_a_phones_jpeg_with_gps_comes_out_without_any_exif():
    original = jpeg_bytes(gps=True)
    assert opened(original).getexif().get_ifd(0x8825)  # the test file does carry GPS

    clean = photos.clean_photo(upload("IMG_0001.JPG", original))

    image = opened(clean.data)
    assert clean.format == "JPEG"
    assert clean.content_type == "image/jpeg"
    assert not image.getexif()
    assert "exif" not in image.info
    assert "comment" not in image.info
    assert not has_exif(clean.data)
    assert (clean.width, clean.height, clean.size) == (64, 48, len(clean.data))


def test_a_photo_taken_sideways_is_stored_upright():
    # Orientation 6: the camera held on its side, the pixels stored 64 wide and 48 high.
    clean = photos.clean_photo(upload("side.jpg", jpeg_bytes((64, 48), gps=True, orientation=6)))

    assert (clean.width, clean.height) == (48, 64)
    assert opened(clean.data).size == (48, 64)


def test_a_pngs_text_chunks_and_exif_are_dropped():
    clean = photos.clean_photo(upload("scan.png", png_bytes(text=True), "image/png"))

    image = opened(clean.data)
    assert clean.format == "PNG"
    assert "Comment" not in image.info
    assert not has_exif(clean.data)


def test_a_png_with_transparency_keeps_its_alpha():
    clean = photos.clean_photo(upload("sticker.png", png_bytes(mode="RGBA"), "image/png"))

    assert opened(clean.data).mode == "RGBA"


def test_a_png_named_jpg_is_accepted_as_a_png():
    clean = photos.clean_photo(upload("photo.jpg", png_bytes(), "image/jpeg"))

    assert clean.format == "PNG"
    assert clean.content_type == "image/png"
    assert clean.extension == ".png"


def test_a_text_file_named_photo_jpg_is_refused_naming_the_file():
    message = refusal(upload("photo.jpg", "这不是照片".encode(), "image/jpeg"))

    assert message == "照片 photo.jpg 不是JPEG或PNG图片。"


def test_a_gif_is_refused_whatever_its_name():
    assert refusal(upload("family.png", gif_bytes(), "image/png")) == "照片 family.png 不是JPEG或PNG图片。"


def test_an_empty_file_is_refused():
    assert "不是JPEG或PNG图片" in refusal(upload("empty.jpg", b""))


def test_a_truncated_jpeg_is_refused():
    data = jpeg_bytes((200, 200))
    message = refusal(upload("cut.jpg", data[: len(data) // 2]))

    assert message.startswith("照片 cut.jpg ")


def test_a_file_over_the_size_limit_is_refused_naming_the_limit(monkeypatch):
    monkeypatch.setattr(photos, "MAX_PHOTO_BYTES", 2 * 1024)

    message = refusal(upload("big.jpg", jpeg_bytes((400, 400)) + b"\0" * 4096))

    assert message == "照片 big.jpg 超过2KB,请压缩后再上传。"


def test_the_default_size_limit_is_8_mb():
    assert photos.MAX_PHOTO_BYTES == 8 * 1024 * 1024
    assert photos.size_label(photos.MAX_PHOTO_BYTES) == "8MB"


def test_an_image_with_too_many_pixels_is_refused_before_it_is_decoded(monkeypatch):
    monkeypatch.setattr(photos, "MAX_PIXELS", 100 * 100)

    message = refusal(upload("bomb.png", png_bytes((101, 100)), "image/png"))

    assert message.startswith("照片 bomb.png 的像素超过")


def test_a_large_photo_is_scaled_down_to_the_longest_side(monkeypatch):
    monkeypatch.setattr(photos, "MAX_SIDE", 100)

    clean = photos.clean_photo(upload("wide.jpg", jpeg_bytes((400, 300))))

    assert (clean.width, clean.height) == (100, 75)


def test_a_folder_sent_with_the_file_name_is_left_out_of_the_message():
    assert refusal(upload("C:\\Users\\老师\\photo.txt", b"hello")) == "照片 photo.txt 不是JPEG或PNG图片。"


# --- Memory: what a photo costs to decode is judged from its header ---------------------------------


def png_header_claiming(width: int, height: int) -> bytes:
    """A tiny real PNG whose header claims the given size, as a decompression bomb's does."""
    data = bytearray(png_bytes((1, 1)))
    ihdr = data.index(b"IHDR")
    data[ihdr + 4 : ihdr + 12] = width.to_bytes(4, "big") + height.to_bytes(4, "big")
    crc = zlib.crc32(bytes(data[ihdr : ihdr + 17]))
    data[ihdr + 17 : ihdr + 21] = crc.to_bytes(4, "big")
    return bytes(data)


def jpeg_header_claiming(width: int, height: int) -> bytes:
    data = bytearray(jpeg_bytes((16, 16)))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(data)


def test_a_png_of_7745_by_7745_pixels_is_refused_before_it_is_decoded():
    # The bomb: 233 KB, 60 million pixels, 760 MB to decode; a PNG cannot be decoded smaller.
    out = io.BytesIO()
    Image.new("L", (7745, 7745)).save(out, "PNG")

    message = refusal(upload("bomb.png", out.getvalue(), "image/png"))

    assert message == "照片 bomb.png 的像素超过5200万,请缩小后再上传。"


def test_a_png_that_a_phone_photo_could_match_in_pixels_is_refused_as_a_png():
    # 25 MP: a JPEG of this size is decoded at a quarter; a PNG would cost 100 MB.
    message = refusal(upload("big.png", png_header_claiming(5000, 5000), "image/png"))

    assert message == "照片 big.png 是PNG图片,像素超过830万,请缩小后再上传。"


def test_a_png_at_the_full_decode_cap_passes_and_one_pixel_row_more_is_refused():
    assert photos.MAX_FULL_DECODE_PIXELS == 8_300_000  # a 4K screen's 3840 x 2160 fits
    assert photos._check_pixels(Image.open(io.BytesIO(png_header_claiming(3840, 2161))), b"", "x") is None
    with pytest.raises(ValidationError):
        photos._check_pixels(Image.open(io.BytesIO(png_header_claiming(3840, 2162))), b"", "x")


def test_a_50_megapixel_phone_photo_is_accepted_and_a_200_megapixel_one_refused():
    phone = Image.open(io.BytesIO(jpeg_header_claiming(8160, 6144)))
    assert photos._check_pixels(phone, jpeg_bytes(), "IMG_0001.jpg") is None

    message = refusal(upload("IMG_200MP.jpg", jpeg_header_claiming(16320, 12240)))

    assert message == "照片 IMG_200MP.jpg 的像素超过5200万,请缩小后再上传。"


def test_a_progressive_jpeg_is_told_apart_from_a_phones_single_scan_jpeg():
    out = io.BytesIO()
    Image.new("RGB", (64, 48)).save(out, "JPEG", progressive=True)

    assert photos.jpeg_has_several_scans(out.getvalue())
    assert not photos.jpeg_has_several_scans(jpeg_bytes(gps=True))


def test_a_progressive_jpeg_over_the_full_decode_cap_is_refused_naming_why(monkeypatch):
    monkeypatch.setattr(photos, "MAX_FULL_DECODE_PIXELS", 100 * 100)
    out = io.BytesIO()
    Image.new("RGB", (101, 100)).save(out, "JPEG", progressive=True)

    message = refusal(upload("export.jpg", out.getvalue()))

    assert message == "照片 export.jpg 是渐进式JPEG图片,像素超过1万,请缩小后再上传。"
    assert photos.clean_photo(upload("camera.jpg", jpeg_bytes((101, 100)))).width == 101


def test_a_large_jpeg_is_decoded_at_a_reduced_size():
    image = Image.open(io.BytesIO(jpeg_bytes((8160, 6144))))
    image.draft("RGB", photos._draft_size(image.size))

    assert image.size == (2040, 1536)  # a quarter on each side: just above MAX_SIDE, not below


def test_a_sideways_50_megapixel_photo_comes_out_upright_and_scaled():
    clean = photos.clean_photo(upload("side.jpg", largest_photos()["phone_50mp_sideways.jpg"]))

    assert (clean.width, clean.height) == (1506, 2000)


@pytest.mark.slow
def test_six_of_the_largest_photos_in_one_request_stay_under_200_mb_of_process_memory():
    # bench/photos.py cleans them in a fresh process through HomeVisitForm.clean_photos and reads the
    # process's peak resident memory (VmHWM): Pillow's pixels are not Python objects, so tracemalloc
    # would not see them. Its set-up process (Django, Pillow) is about 60 MB of it.
    command = [sys.executable, str(BENCH), "--json", "--set", "6 mixed"]
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=os.environ.copy())  # noqa: S603
    assert result.returncode == 0, result.stderr

    figures = json.loads(result.stdout.strip().splitlines()[-1])["6 mixed"]

    assert figures["peak_mb"] < 200, figures


def test_an_uploaded_photo_over_1_mb_is_spooled_to_disk_rather_than_held_in_memory(rf):
    request = rf.post("/", {"photos": upload("IMG_0002.jpg", jpeg_bytes() + b"\0" * 1_100_000)})

    assert isinstance(request.FILES["photos"], TemporaryUploadedFile)
