"""Copies without metadata, for evidence shared outside the institution.

A photo's EXIF can hold the GPS position where it was taken (a victim's home, a shelter), the camera's
serial number and the owner's name; a PDF's document information and XMP name its author and the
software of their organisation. Copies that leave the institution go without them; the original is
kept as received, with its hash, for the record.

Images are decoded and re-encoded from their pixels alone into a fresh image (nothing of the source's
``info`` is carried over but palette transparency), after turning them upright by their EXIF
orientation so the copy does not display rotated. JPEG re-encoding is lossy (quality 95, no chroma
subsampling); PNG, TIFF (deflate) and WebP (lossless mode) keep the decoded pixels exactly. PDFs are
rewritten by pypdf without their document information dictionary, their XMP streams (catalogue, pages
and any other object carrying ``/Metadata``), ``/PieceInfo`` private data and their file identifiers,
and with unreferenced objects (earlier revisions' metadata) dropped.

Both need the whole file in memory, so the store only strips files up to a size limit; these functions
are synchronous and CPU-bound, and the store runs them in a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO

from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError
from pypdf import PdfReader, PdfWriter
from pypdf.errors import PyPdfError
from pypdf.generic import DictionaryObject, NameObject

from .errors import EvidenceStripRefused

PDF = "application/pdf"
IMAGE_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/tiff": "TIFF", "image/webp": "WEBP"}
MAX_PIXELS = 64_000_000
"""Per frame: a decompression bomb is refused before it is decoded (64 MP is beyond common cameras)."""

_GPS_IFD = 0x8825
_PDF_PRIVATE_KEYS = ("/Metadata", "/PieceInfo")


@dataclass(frozen=True)
class StripResult:
    data: bytes
    content_type: str
    removed: tuple[str, ...]
    """What was found and left out: ``exif``, ``gps``, ``xmp``, ``icc_profile``, ``comment``,
    ``text_chunks``, ``iptc``, ``document_info``, ``pdf_xmp``, ``piece_info``, ``file_identifiers``."""


def can_strip(content_type: str) -> bool:
    return content_type in IMAGE_FORMATS or content_type == PDF


def strip_metadata(data: bytes, content_type: str, *, max_pixels: int = MAX_PIXELS) -> StripResult:
    """A copy of ``data`` without its metadata. Raises :class:`EvidenceStripRefused` when the file
    cannot be read as the type it was detected as, and ``ValueError`` for a type not handled here
    (ask :func:`can_strip` first)."""
    if content_type in IMAGE_FORMATS:
        return _strip_image(data, content_type, max_pixels)
    if content_type == PDF:
        return _strip_pdf(data)
    raise ValueError(f"no metadata stripping for {content_type}")


def _image_metadata(image: Image.Image) -> set[str]:
    found: set[str] = set()
    exif = image.getexif()
    if _GPS_IFD in exif or exif.get_ifd(_GPS_IFD):
        found.add("gps")
    if image.format != "TIFF" and len(exif):
        found.add("exif")
    if image.format == "TIFF" and any(tag in exif for tag in (0x010E, 0x010F, 0x0110, 0x0131, 0x0132,
                                                             0x013B, 0x8298, 0x8769)):
        # A TIFF's tags are its structure as well; these are the descriptive ones (description, make,
        # model, software, date, artist, copyright, EXIF pointer).
        found.add("exif")
    for key in image.info:
        lowered = str(key).lower()
        if lowered == "exif":
            found.add("exif")
        elif "xmp" in lowered:
            found.add("xmp")
        elif lowered == "icc_profile":
            found.add("icc_profile")
        elif lowered in {"comment", "comments"}:
            found.add("comment")
        elif lowered in {"photoshop", "iptc"}:
            found.add("iptc")
    if getattr(image, "text", None):
        found.add("text_chunks")
    return found


def _clean_frame(frame: Image.Image) -> Image.Image:
    upright = ImageOps.exif_transpose(frame)
    # A new image from the pixels alone: no info dictionary, no EXIF, no ICC profile to forget to drop.
    clean = Image.new(upright.mode, upright.size)
    if upright.mode in {"P", "PA"} and upright.palette is not None:
        palette_mode = upright.palette.mode
        palette = upright.getpalette(palette_mode)
        if palette is not None:
            clean.putpalette(palette, palette_mode)
    clean.paste(upright, (0, 0))
    if "transparency" in upright.info:
        clean.info["transparency"] = upright.info["transparency"]
    return clean


def _strip_image(data: bytes, content_type: str, max_pixels: int) -> StripResult:
    image_format = IMAGE_FORMATS[content_type]
    try:
        with Image.open(BytesIO(data), formats=[image_format]) as image:
            if image.width * image.height > max_pixels:
                raise EvidenceStripRefused(
                    f"the image has {image.width}x{image.height} pixels, more than the {max_pixels} the "
                    "store decodes to strip metadata")
            removed = _image_metadata(image)
            # A JPEG's further frames (MPO) are previews and stereo pairs; other formats keep their pages.
            source = [image] if image_format == "JPEG" else ImageSequence.Iterator(image)
            frames: list[Image.Image] = []
            for frame in source:
                removed |= _image_metadata(frame)
                frames.append(_clean_frame(frame))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise EvidenceStripRefused(f"the file cannot be read as {content_type}: {exc}") from exc
    out = BytesIO()
    first, rest = frames[0], frames[1:]
    options: dict[str, object] = {}
    if rest:
        options.update(save_all=True, append_images=rest)
    if image_format == "JPEG":
        options.update(quality=95, subsampling=0)
    elif image_format == "TIFF":
        options.update(compression="tiff_adobe_deflate")
    elif image_format == "WEBP":
        options.update(lossless=True)
    first.save(out, image_format, **options)
    return StripResult(out.getvalue(), content_type, tuple(sorted(removed)))


def _drop_private_keys(dictionary: DictionaryObject, found: set[str], label: str) -> None:
    for key in _PDF_PRIVATE_KEYS:
        if NameObject(key) in dictionary:
            del dictionary[NameObject(key)]
            found.add(label if key == "/Metadata" else "piece_info")


def _strip_pdf(data: bytes) -> StripResult:
    try:
        reader = PdfReader(BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise EvidenceStripRefused("the PDF is encrypted with a password; its metadata cannot be removed")
        removed: set[str] = set()
        if reader.metadata:
            removed.add("document_info")
        if reader.trailer.get("/ID") is not None:
            removed.add("file_identifiers")
        writer = PdfWriter(clone_from=reader)
        writer.metadata = None
        _drop_private_keys(writer.root_object, removed, "pdf_xmp")
        # XMP also hangs on pages, images and fonts: every dictionary in the file is looked at.
        for obj in writer._objects:
            target = obj
            if target is not None and hasattr(target, "get_object"):
                target = target.get_object()
            if isinstance(target, DictionaryObject):
                _drop_private_keys(target, removed, "pdf_xmp")
        # Objects nothing refers to any more (the XMP streams just cut off, metadata of earlier
        # incremental revisions) would otherwise still be written out.
        writer.compress_identical_objects(remove_duplicates=False, remove_unreferenced=True)
        # No /ID: the original's identifiers would link the copy back to the file they came from.
        writer._ID = None
        out = BytesIO()
        writer.write(out)
    except EvidenceStripRefused:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise EvidenceStripRefused(f"the file cannot be read as a PDF: {exc}") from exc
    return StripResult(out.getvalue(), PDF, tuple(sorted(removed)))
