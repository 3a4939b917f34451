"""Hostile uploads: contents that lie about their type, bombs, and names that try to leave the store."""

from __future__ import annotations

import struct
import zlib

from tests.medflow_harness import image_bytes, pdf_bytes


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_declaring(width: int, height: int, dpi: int = 300, pixels: bytes = b"\x00" * 64) -> bytes:
    """A tiny PNG whose header declares ``width``×``height``: a bomb for whoever decodes it."""
    per_metre = round(dpi / 0.0254)
    return (b"\x89PNG\r\n\x1a\n"
            + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + _chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1))
            + _chunk(b"IDAT", zlib.compress(pixels, 9))
            + _chunk(b"IEND", b""))


def zlib_bomb_png() -> bytes:
    """A real bomb: 8000×8000 RGB of zeros (192 MB decoded) in a few hundred kilobytes."""
    raw = zlib.compressobj(9)
    row = b"\x00" + b"\x00" * (8000 * 3)
    body = b"".join(raw.compress(row) for _ in range(8000)) + raw.flush()
    per_metre = round(300 / 0.0254)
    return (b"\x89PNG\r\n\x1a\n"
            + _chunk(b"IHDR", struct.pack(">IIBBBBB", 8000, 8000, 8, 2, 0, 0, 0))
            + _chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1))
            + _chunk(b"IDAT", body) + _chunk(b"IEND", b""))


# content → a fragment of the Russian message the check must give for it (as "passport.pdf", or
# "scan.png" for the images)
LYING_CONTENTS: dict[str, tuple[bytes, str]] = {
    "text_as_pdf": (b"just text pretending to be a PDF", "Недопустимый тип файла"),
    "html_as_pdf": (b"<html><script>alert(1)</script></html>", "Недопустимый тип файла"),
    "jpeg_as_pdf": (image_bytes("JPEG", 300), "не соответствует содержимому"),
    "zip_as_pdf": (b"PK\x03\x04" + b"\x00" * 100, "Недопустимый тип файла"),
    "exe_as_pdf": (b"MZ\x90\x00" + b"\x00" * 200, "Недопустимый тип файла"),
    "elf_as_pdf": (b"\x7fELF\x02\x01\x01" + b"\x00" * 200, "Недопустимый тип файла"),
    "empty": (b"", "Файл пустой"),
    "oversize_pdf": (pdf_bytes(pad_to=6 * 1024 * 1024), "Файл больше 5 МБ"),
    "png_50000x50000": (png_declaring(50_000, 50_000), "Изображение не читается"),
    "truncated_png": (png_declaring(100, 100)[:40], "Изображение не читается"),
    "png_as_pdf": (png_declaring(200, 100), "не соответствует содержимому"),
}
# Bombs that Pillow itself does not flag (under its 178-megapixel error limit): only a check of the
# declared dimensions against a page size can refuse them without decoding.
QUIET_BOMBS: dict[str, bytes] = {
    "png_12000x12000_in_90_bytes": png_declaring(12_000, 12_000),
}

TRAVERSAL_NAMES = [
    "../../etc/passwd", "../../etc/passwd.pdf", "..\\..\\windows\\win.ini.pdf", "/etc/passwd.pdf",
    "C:\\Windows\\evil.pdf", "passport.pdf\x00.exe", "\x00.pdf", "passport\u202efdp.exe", "паспорт скан.pdf",
    "a/../../b.pdf", ".pdf", "..pdf", "CON.pdf", "x" * 5000 + ".pdf", "passport.pdf\n", "", "~/.ssh/id_rsa.pdf",
    "%2e%2e%2fetc%2fpasswd.pdf", "file:///etc/passwd.pdf",
]
