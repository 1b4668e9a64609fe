"""Still images through Pillow: decode, apply EXIF orientation, strip metadata, resize, re-encode.

Every uploaded image (avatars, product images) goes through :func:`render_variants`, which refuses
non-images and decompression bombs before doing any real work.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "MPO"}


class ImageRejected(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ImageVariant:
    width: int
    height: int
    format: str  # "jpeg" | "webp"
    content_type: str
    data: bytes


def _open_checked(data: bytes, max_pixels: int) -> Image.Image:
    if not data:
        raise ImageRejected("not_an_image", "The file is empty")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
            if image.format not in ALLOWED_FORMATS:
                raise ImageRejected("unsupported_image_format", f"Unsupported image format {image.format}")
            width, height = image.size
            if width * height > max_pixels:
                raise ImageRejected(
                    "image_too_large", f"The image has {width * height} pixels; the limit is {max_pixels}"
                )
            image.load()
        except ImageRejected:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageRejected("image_too_large", "The image is too large to decode safely")
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise ImageRejected(
                "not_an_image", f"The file is not a readable image ({exc.__class__.__name__})"
            )
    return image


def render_variants(
    data: bytes,
    widths: list[int],
    *,
    max_pixels: int,
    square: bool = False,
    quality: int = 82,
) -> list[ImageVariant]:
    """Decode ``data`` and return JPEG and WebP renditions at each width (never upscaled)."""
    image = _open_checked(data, max_pixels)
    # Orientation from EXIF is applied to the pixels; the metadata itself is dropped on re-encode.
    image = ImageOps.exif_transpose(image) or image
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB")
    if square:
        side = min(image.size)
        image = ImageOps.fit(image, (side, side), method=Image.Resampling.LANCZOS)
    variants: list[ImageVariant] = []
    for width in sorted(set(widths)):
        target_w = min(width, image.width)
        target_h = max(1, round(image.height * target_w / image.width))
        resized = image.resize((target_w, target_h), Image.Resampling.LANCZOS)
        rgb = resized
        if resized.mode == "RGBA":
            rgb = Image.new("RGB", resized.size, (255, 255, 255))
            rgb.paste(resized, mask=resized.getchannel("A"))
        jpeg = io.BytesIO()
        rgb.save(jpeg, "JPEG", quality=quality, optimize=True, progressive=True)
        webp = io.BytesIO()
        resized.save(webp, "WEBP", quality=quality, method=4)
        variants.append(ImageVariant(target_w, target_h, "jpeg", "image/jpeg", jpeg.getvalue()))
        variants.append(ImageVariant(target_w, target_h, "webp", "image/webp", webp.getvalue()))
    return variants
