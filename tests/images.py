"""Pictures made for the photo tests: a JPEG with EXIF (GPS, camera, orientation) and a comment, PNGs, and
files that only look like pictures."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import ExifTags, Image
from werkzeug.datastructures import FileStorage

KUNMING = {  # where the 景虹街 photo was taken, as a phone writes it
    ExifTags.GPS.GPSLatitudeRef: "N",
    ExifTags.GPS.GPSLatitude: (25.0, 2.0, 30.0),
    ExifTags.GPS.GPSLongitudeRef: "E",
    ExifTags.GPS.GPSLongitude: (102.0, 42.0, 0.0),
}


def jpeg(size: tuple[int, int] = (640, 480), orientation: int = 6) -> bytes:
    """A phone's JPEG: taken sideways (EXIF orientation 6: turn 90° clockwise to see it upright), with the
    place in its GPS data, the camera's make and a comment."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestCam"
    exif[ExifTags.Base.Orientation] = orientation
    exif.get_ifd(ExifTags.IFD.GPSInfo).update(KUNMING)
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "JPEG", exif=exif, comment=b"taken at home")
    return out.getvalue()


def png(size: tuple[int, int] = (300, 200), mode: str = "RGBA") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (20, 120, 200, 128) if mode == "RGBA" else 1).save(out, "PNG")
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A small PNG whose header claims ``width`` × ``height`` pixels: a few bytes of data follow."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data = zlib.compress(b"\0" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def upload(data: bytes, name: str = "photo.jpg") -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=name)


def stored_files(folder) -> list:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []
