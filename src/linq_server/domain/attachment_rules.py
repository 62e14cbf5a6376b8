"""What may be uploaded: Linq's supported content types and size limits (api-core §15.4, §15.5).

Pure functions of plain values, so they are tested without a server.
"""

from __future__ import annotations

import unicodedata

from linq_server.domain.attachment_errors import (
    ContentTypeMismatch,
    FileTooLarge,
    InvalidFileType,
    UploadSizeMismatch,
)
from linq_server.domain.errors import InvalidParameterValue

# Exactly the SDK's SupportedContentType. WebP and SVG are in it although one docstring calls them
# rejected: the enum is what clients are typed against, so it wins.
SUPPORTED_CONTENT_TYPES = frozenset(
    {
        "image/jpeg", "image/png", "image/gif", "image/heic", "image/heif", "image/tiff", "image/bmp",
        "image/svg+xml", "image/webp", "image/x-icon",
        "video/mp4", "video/quicktime", "video/mpeg", "video/mpeg2", "video/x-m4v", "video/x-msvideo", "video/3gpp",
        "audio/mpeg", "audio/mp3", "audio/x-m4a", "audio/mp4", "audio/x-caf", "audio/x-wav", "audio/x-aiff",
        "audio/aiff", "audio/aac", "audio/midi", "audio/amr",
        "application/vnd.apple.pkpass",
        "application/pdf", "text/plain", "text/markdown", "text/vcard", "text/rtf", "text/csv", "text/html",
        "text/calendar", "text/xml", "application/json", "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.ms-excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/x-iwork-pages-sffpages", "application/x-iwork-numbers-sffnumbers",
        "application/x-iwork-keynote-sffkey", "application/epub+zip", "application/zip", "application/x-gzip",
    }
)  # fmt: skip
MAX_UPLOAD_BYTES = 100 * 1024 * 1024
MAX_FILENAME_CHARS = 255


def media_type(value: str) -> str:
    """The media type of a Content-Type value, without parameters, lower-cased (RFC 9110: case-insensitive)."""
    return value.split(";", 1)[0].strip().lower()


def check_content_type(value: str) -> str:
    """A supported content type, normalised; 400/5004 otherwise (FLAC, OGG, executables, anything unlisted)."""
    normalised = media_type(value)
    if normalised not in SUPPORTED_CONTENT_TYPES:
        raise InvalidFileType(f"Invalid file type: {value!r} is not a supported content type")
    return normalised


def check_upload_size(size_bytes: int) -> int:
    """1 byte to 100 MB (104,857,600 bytes): more is 400/5005, less than one byte 400/1005."""
    if size_bytes > MAX_UPLOAD_BYTES:
        raise FileTooLarge(f"File too large: an upload is at most {MAX_UPLOAD_BYTES} bytes (100 MB)")
    if size_bytes < 1:
        raise InvalidParameterValue("Invalid parameter value: size_bytes must be at least 1")
    return size_bytes


def check_filename(filename: str) -> str:
    """1 to 255 characters, no path separators or control characters (it ends the download URL's path)."""
    if not 1 <= len(filename) <= MAX_FILENAME_CHARS or not filename.strip():
        raise InvalidParameterValue(f"Invalid parameter value: filename must be 1 to {MAX_FILENAME_CHARS} characters")
    if "/" in filename or "\\" in filename or filename in (".", ".."):
        raise InvalidParameterValue("Invalid parameter value: filename must not contain path separators")
    if any(unicodedata.category(char) == "Cc" for char in filename):
        raise InvalidParameterValue("Invalid parameter value: filename must not contain control characters")
    return filename


def check_upload_headers(
    *, content_type: str | None, content_length: str | None, declared_type: str, size: int
) -> None:
    """The PUT must carry the ``required_headers`` it was given: the declared type and exactly ``size`` bytes."""
    if content_type is None or media_type(content_type) != declared_type:
        raise ContentTypeMismatch(f"Content type mismatch: the upload must be sent with Content-Type: {declared_type}")
    if content_length is None or not content_length.isdigit() or int(content_length) != size:
        raise UploadSizeMismatch(f"File upload failed: the body must be exactly {size} bytes (Content-Length: {size})")
