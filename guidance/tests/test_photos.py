"""guidance.photos: a photo is judged by its bytes, and comes out as bare pixels (no EXIF, no GPS)."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from PIL import Image

from guidance import photos

from .photo_files import gif_bytes, has_exif, jpeg_bytes, png_bytes, upload


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
