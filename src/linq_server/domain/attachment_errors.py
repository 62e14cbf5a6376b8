"""Typed errors of attachments and their upload and download links (api-core §3.2, §3.5, §15)."""

from __future__ import annotations

from linq_server.domain.errors import LinqError


class AttachmentNotFound(LinqError):
    status, code, default_message = 404, 2003, "Attachment not found"


class AttachmentNotReady(LinqError):
    status, code, default_message = 404, 2007, "Attachment not ready"


class InvalidFileType(LinqError):
    status, code, default_message = 400, 5004, "Invalid file type"


class FileTooLarge(LinqError):
    status, code, default_message = 400, 5005, "File too large"


class ContentTypeMismatch(LinqError):
    status, code, default_message = 400, 5006, "Content type mismatch"


class UploadSizeMismatch(LinqError):
    # 5001 is Linq's "File upload failed"; a body of the wrong size is the uploader's fault, so 400.
    status, code, default_message = 400, 5001, "File upload failed"


class UploadLinkRefused(LinqError):
    # Like S3's answer to a bad or expired presigned URL: 403, and nothing about the attachment.
    status, code, default_message = 403, 2005, "Access denied - insufficient permissions for this resource"


class AttachmentAlreadyUploaded(LinqError):
    status, code, default_message = 409, 2015, "The attachment has already been uploaded"
    should_retry = False


class InvalidAttachmentId(LinqError):
    # Documented for DELETE (400 when attachmentId is not a UUID); GET answers the same.
    status, code, default_message = 400, 1005, "Invalid parameter value: attachmentId is not a valid UUID"


class VoiceMemoTooLarge(LinqError):
    status, code, default_message = 413, 5001, "Voice memo file too large - maximum size is 10MB"
    should_retry = False


class FileDownloadFailed(LinqError):
    status, code, default_message = 500, 5002, "File download failed"
