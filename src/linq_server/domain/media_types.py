"""The file types a media part may carry, by extension, with the MIME type shown back."""

from __future__ import annotations

# The media formats Linq sends (SDK MediaPartParam), by file extension.
MEDIA_TYPES = {
    "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif", "heic": "image/heic",
    "heif": "image/heif", "tif": "image/tiff", "tiff": "image/tiff", "bmp": "image/bmp",
    "mp4": "video/mp4", "mov": "video/quicktime", "m4v": "video/x-m4v", "mpeg": "video/mpeg", "mpg": "video/mpeg",
    "3gp": "video/3gpp",
    "m4a": "audio/x-m4a", "mp3": "audio/mpeg", "aac": "audio/aac", "caf": "audio/x-caf", "wav": "audio/wav",
    "aiff": "audio/aiff", "amr": "audio/amr",
    "pdf": "application/pdf", "txt": "text/plain", "rtf": "application/rtf", "csv": "text/csv",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt": "application/vnd.ms-powerpoint",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "pages": "application/x-iwork-pages-sffpages", "numbers": "application/x-iwork-numbers-sffnumbers",
    "key": "application/x-iwork-keynote-sffkey", "epub": "application/epub+zip", "zip": "application/zip",
    "html": "text/html", "htm": "text/html", "vcf": "text/vcard", "ics": "text/calendar",
}  # fmt: skip
