"""Photos of a whistle and of a department's progress notes: checked, re-encoded, stored, found again.

An upload is taken only if it is a JPEG or PNG by its content (the name says nothing), within the size and
pixel limits of the configuration (PHOTO_MAX_BYTES, PHOTO_MAX_PIXELS; the pixels are read from the header,
before anything is decoded), and at most PHOTO_MAX_FILES at a time. It is decoded with Pillow, turned
upright by its EXIF orientation, flattened onto white if transparent, scaled down to MAX_SIDE and saved
again as a JPEG with a thumbnail: the EXIF data (the place, the camera, the time) is not copied.

Every upload of a form is checked before anything is written. The files are written in the instance folder
(PHOTO_DIR, outside the web root) when their rows are added, and removed again if that transaction does not
commit (a refusal, a failed commit): no file without its row is left behind.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageOps
from sqlalchemy import event
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.time import utcnow
from kmvolunteer.extensions import db
from kmvolunteer.whistles.models import WhistlePhoto

FIELD = "photos"  # the form field the messages go under
FORMATS = ("JPEG", "PNG")
MAX_SIDE = 2048  # the longest side of the stored photo
THUMB_SIDE = 320
QUALITY, THUMB_QUALITY = 85, 75
KINDS = {"photo": ".jpg", "thumb": ".thumb.jpg"}  # the stored files of a photo, by the suffix of its name
PENDING = "whistle_photo_files"  # session.info: the files written in the transaction under way


@dataclass(frozen=True)
class Prepared:
    """An upload that passed: the JPEG to store, its thumbnail, and its size in pixels."""

    photo: bytes
    thumb: bytes
    width: int
    height: int


def prepare(uploads: Iterable[FileStorage]) -> list[Prepared]:
    """The uploads of one form, checked and re-encoded; a ServiceError for the first that does not pass.
    File fields left empty (no name, nothing sent) are not uploads."""
    config = current_app.config
    files = [upload for upload in uploads if upload.filename]
    if len(files) > config["PHOTO_MAX_FILES"]:
        raise ServiceError(_("Attach at most %(num)d photos at a time.", num=config["PHOTO_MAX_FILES"]), FIELD)
    prepared = []
    for upload in files:
        label = _label(upload.filename or "")
        data = upload.read(config["PHOTO_MAX_BYTES"] + 1)
        if len(data) > config["PHOTO_MAX_BYTES"]:
            megabytes = config["PHOTO_MAX_BYTES"] // (1024 * 1024)
            raise ServiceError(_("%(name)s is larger than %(num)d MB.", name=label, num=megabytes), FIELD)
        prepared.append(_reencode(label, data, config["PHOTO_MAX_PIXELS"]))
    return prepared


def _label(filename: str) -> str:
    """The name of an upload as the messages show it: without folders, printable, not too long."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(c for c in name if c.isprintable())[:60] or _("(unnamed)")


def _reencode(label: str, data: bytes, max_pixels: int) -> Prepared:
    too_large = _("%(name)s has too many pixels (at most %(num)d million).", name=label, num=max_pixels // 10**6)
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)  # reads the header only
    except Image.DecompressionBombError:  # Pillow's own limit, far above ours
        raise ServiceError(too_large, FIELD) from None
    except Exception:  # UnidentifiedImageError, or a header Pillow cannot make sense of
        raise ServiceError(_("%(name)s is not a JPEG or PNG picture.", name=label), FIELD) from None
    with image:
        if image.width * image.height > max_pixels:
            raise ServiceError(too_large, FIELD)
        try:
            image.draft("RGB", (MAX_SIDE, MAX_SIDE))  # a large JPEG is decoded at a half, a quarter, …
            image.load()
            upright = _upright(image)
        except Exception:  # whatever the decoder raises on broken data: truncated, corrupt, inconsistent
            raise ServiceError(
                _("%(name)s could not be read: the picture is damaged or incomplete.", name=label), FIELD
            ) from None
    thumb = upright.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    return Prepared(_jpeg(upright, QUALITY), _jpeg(thumb, THUMB_QUALITY), upright.width, upright.height)


def _upright(image: Image.Image) -> Image.Image:
    """``image`` turned by its EXIF orientation, in RGB (transparency flattened onto white), at most
    MAX_SIDE on its longest side, and with none of the original's metadata but its colour profile."""
    profile = image.info.get("icc_profile") if image.mode in ("RGB", "RGBA") else None
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        image = Image.new("RGB", rgba.size, "white")
        image.paste(rgba, mask=rgba.getchannel("A"))
    elif image.mode != "RGB":
        image = image.convert("RGB")
    image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    image.info = {"icc_profile": profile} if profile else {}  # no EXIF, XMP or comment goes along
    return image


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, optimize=True, icc_profile=image.info.get("icc_profile"))
    return out.getvalue()


def store(prepared: list[Prepared], whistle_id: int, by_id: int, progress_id: int | None = None) -> list[WhistlePhoto]:
    """Add the rows of ``prepared`` photos and write their files (removed again unless the transaction
    commits)."""
    now = utcnow()
    rows = []
    for item in prepared:
        row = WhistlePhoto(
            whistle_id=whistle_id,
            progress_id=progress_id,
            name=f"{now.year}/{secrets.token_hex(16)}",
            width=item.width,
            height=item.height,
            size=len(item.photo),
            by_id=by_id,
            at=now,
        )
        db.session.add(row)
        rows.append(row)
        for kind, data in (("photo", item.photo), ("thumb", item.thumb)):
            path = file_of(row, kind)
            db.session.info.setdefault(PENDING, []).append(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("xb") as target:
                target.write(data)
    db.session.flush()
    return rows


def file_of(photo: WhistlePhoto, kind: str) -> Path:
    """Where the ``kind`` ("photo" or "thumb") of ``photo`` is kept."""
    return Path(current_app.config["PHOTO_DIR"]) / f"{photo.name}{KINDS[kind]}"


def request_limit() -> int:
    """The most a form carrying photos may send: every photo at its largest, and the rest of the form."""
    config = current_app.config
    return config["PHOTO_MAX_FILES"] * config["PHOTO_MAX_BYTES"] + config["MAX_CONTENT_LENGTH"]


@event.listens_for(Session, "after_commit")
def _keep_files(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(PENDING, None)


@event.listens_for(Session, "after_transaction_end")
def _remove_files(session: Session, transaction: Any) -> None:
    """The transaction ended without committing (rolled back, or closed): its photos' files go with it."""
    if transaction.parent is None:
        for path in session.info.pop(PENDING, ()):
            path.unlink(missing_ok=True)
