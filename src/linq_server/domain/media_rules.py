"""What a media part given by ``url`` and a voice memo may carry (api-core §8.8, §15.4, §15.5).

Pure functions of plain values. A URL is judged twice: by its name before anything is fetched
(an extension Linq does not send is 400/5004 at once), then by what its server answered (the
declared Content-Type and the bytes counted while reading, never more than the limit plus one).
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from linq_server.domain.attachment_errors import FileTooLarge, InvalidFileType, VoiceMemoTooLarge
from linq_server.domain.attachment_rules import SUPPORTED_CONTENT_TYPES, media_type
from linq_server.domain.media_types import MEDIA_TYPES

MAX_URL_MEDIA_BYTES = 10 * 1024 * 1024
MAX_VOICE_MEMO_BYTES = 10 * 1024 * 1024
# Types a server says nothing with: the file's extension decides then.
UNINFORMATIVE_TYPES = frozenset({"application/octet-stream", "binary/octet-stream", "application/unknown"})
# §8.8's formats, with the spellings §15.4 lets an upload declare for the same files (audio/mp3, audio/x-wav).
VOICE_MEMO_TYPES = frozenset(
    {"audio/mpeg", "audio/mp3", "audio/x-m4a", "audio/mp4", "audio/aac", "audio/x-caf", "audio/wav", "audio/x-wav",
     "audio/aiff", "audio/x-aiff", "audio/amr"}
)  # fmt: skip
# What a media part may show as its type: the upload enum and the types of the accepted extensions.
SENDABLE_TYPES = SUPPORTED_CONTENT_TYPES | frozenset(MEDIA_TYPES.values())


def url_file(url: str) -> tuple[str, str | None]:
    """The file name a URL ends with and the type its extension names (None without an extension).

    400/5004 for an extension Linq does not send (``.exe``, ``.flac``, ``.ogg`` …)."""
    filename = unquote(urlsplit(url).path.rsplit("/", 1)[-1]) or "attachment"
    if "." not in filename.strip("."):
        return filename, None
    extension = filename.rsplit(".", 1)[-1].lower()
    if extension not in MEDIA_TYPES:
        raise InvalidFileType(f"Invalid file type: files of type .{extension} cannot be sent")
    return filename, MEDIA_TYPES[extension]


def fetched_type(declared: str | None, by_extension: str | None) -> str:
    """The type of fetched media: what its server declared, unless that says nothing, then the extension's.

    400/5004 when the declared type is not one Linq sends, or nothing names a type at all."""
    declared_type = media_type(declared) if declared else None
    if declared_type and declared_type not in UNINFORMATIVE_TYPES:
        if declared_type not in SENDABLE_TYPES:
            raise InvalidFileType(f"Invalid file type: the URL serves {declared_type!r}, which cannot be sent")
        return declared_type
    if by_extension is None:
        raise InvalidFileType("Invalid file type: the URL names no file type and its server declares none")
    return by_extension


def url_media_too_large() -> FileTooLarge:
    return FileTooLarge(
        f"File too large: media sent by url is at most {MAX_URL_MEDIA_BYTES} bytes (10 MB); "
        "upload larger files with POST /v3/attachments"
    )


def check_url_media_size(size_bytes: int) -> int:
    """Media by URL: at most 10 MB (10,485,760 bytes), else 400/5005."""
    if size_bytes > MAX_URL_MEDIA_BYTES:
        raise url_media_too_large()
    return size_bytes


def check_voice_memo_type(content_type: str) -> str:
    """One of §8.8's audio formats, else 400/5004."""
    normalised = media_type(content_type)
    if normalised not in VOICE_MEMO_TYPES:
        raise InvalidFileType(
            f"Invalid file type: a voice memo must be MP3, M4A, AAC, CAF, WAV, AIFF or AMR audio, not {normalised!r}"
        )
    return normalised


def check_voice_memo_size(size_bytes: int) -> int:
    """At most 10 MB, by URL or by attachment, else 413/5001 (as Linq's spec words it)."""
    if size_bytes > MAX_VOICE_MEMO_BYTES:
        raise VoiceMemoTooLarge()
    return size_bytes
