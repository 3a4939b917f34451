"""Files a scenario or a test uploads: a minimal PDF, images with a given DPI, plain text."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image


def image_bytes(kind: str = "JPEG", dpi: int | None = 300, size: tuple[int, int] = (200, 100)) -> bytes:
    image = Image.new("RGB", size, (255, 255, 255))
    buffer = io.BytesIO()
    options = {"dpi": (dpi, dpi)} if dpi else {}
    image.save(buffer, format=kind, **options)
    return buffer.getvalue()


def pdf_bytes(pad_to: int = 0) -> bytes:
    body = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
            b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
    return body + b"%" + b"0" * max(0, pad_to - len(body) - 1) if pad_to else body


def sample_file(kind: str, **options: Any) -> bytes:
    """pdf | jpeg | png | text: what a scenario or a test uploads."""
    if kind == "pdf":
        return pdf_bytes(int(options.get("size_bytes", 0)))
    if kind in ("jpeg", "jpg", "png"):
        return image_bytes("PNG" if kind == "png" else "JPEG", options.get("dpi", 300))
    if kind == "text":
        return str(options.get("text", "Это не документ, а текст")).encode("utf-8")
    raise ValueError(f"неизвестный вид файла: {kind}")
