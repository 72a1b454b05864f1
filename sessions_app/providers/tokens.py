"""Counting a request's tokens with tiktoken, without ever downloading an encoding.

tiktoken fetches an encoding's rank file from the internet on first use and caches it on disk.
A request (or a test) must never wait on that download, so an encoding is only loaded when its
file is already in tiktoken's cache; otherwise the count falls back to the base estimate.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from typing import TYPE_CHECKING

from sessions_app.providers.base import CompletionRequest, TokenCount, estimate_tokens

if TYPE_CHECKING:
    import tiktoken

# Where tiktoken_ext.openai_public loads each encoding from (its cache key is the URL's sha1),
# and the file's sha256: tiktoken re-downloads a cached file whose hash does not match.
_BLOB = "https://openaipublic.blob.core.windows.net/encodings/{}.tiktoken"
_O200K = (
    _BLOB.format("o200k_base"),
    "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
)
_CL100K = (
    _BLOB.format("cl100k_base"),
    "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
)
ENCODING_FILES = {"o200k_base": _O200K, "o200k_harmony": _O200K, "cl100k_base": _CL100K}
_loaded: dict[str, tiktoken.Encoding] = {}

# The chat format's cost per message (role and separators) and for priming the reply,
# as in OpenAI's cookbook for the gpt-4o family.
TOKENS_PER_MESSAGE = 3
REPLY_PRIMING_TOKENS = 3


def tiktoken_cache_path(blob_url: str) -> str | None:
    """The file tiktoken would cache ``blob_url`` in; None when caching is disabled."""
    cache_dir = os.environ.get("TIKTOKEN_CACHE_DIR")
    if cache_dir is None:
        cache_dir = os.environ.get("DATA_GYM_CACHE_DIR")
    if cache_dir is None:
        cache_dir = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    if cache_dir == "":
        return None
    return os.path.join(cache_dir, hashlib.sha1(blob_url.encode()).hexdigest())


def encoding_name_for(model: str) -> str | None:
    try:
        import tiktoken
    except ImportError:
        return None
    try:
        return tiktoken.encoding_name_for_model(model)
    except KeyError:
        return None


def cached_encoding(name: str) -> tiktoken.Encoding | None:
    """The encoding ``name`` when its file is on disk already, else None (never a download)."""
    if name in _loaded:
        return _loaded[name]
    blob_url, sha256 = ENCODING_FILES.get(name, ("", ""))
    path = tiktoken_cache_path(blob_url) if blob_url else None
    if path is None or not _intact(path, sha256):
        return None
    import tiktoken

    try:
        _loaded[name] = tiktoken.get_encoding(name)
    except (OSError, ValueError):
        return None
    return _loaded[name]


def _intact(path: str, sha256: str) -> bool:
    try:
        with open(path, "rb") as cached:
            return hashlib.sha256(cached.read()).hexdigest() == sha256
    except OSError:
        return False


def count_with_encoding(encoding: tiktoken.Encoding, request: CompletionRequest) -> int:
    """Tokens of ``request`` in the chat format, system prompt included."""
    texts = [message.content for message in request.messages]
    if request.system:
        texts.append(request.system)
    # encode_ordinary: user text such as "<|endoftext|>" is text, not a special token.
    content = sum(len(tokens) for tokens in encoding.encode_ordinary_batch(texts))
    return content + TOKENS_PER_MESSAGE * len(texts) + REPLY_PRIMING_TOKENS


def count_tokens(
    request: CompletionRequest, *, encoding: tiktoken.Encoding | str | None = None
) -> TokenCount:
    """tiktoken's count with ``encoding`` (an instance, a name, or the model's when None) if
    it is available without a download; the base estimate otherwise."""
    if isinstance(encoding, str) or encoding is None:
        name = encoding or encoding_name_for(request.model)
        encoding = cached_encoding(name) if name else None
    if encoding is None:
        return TokenCount(tokens=estimate_tokens(request), method="estimate")
    return TokenCount(tokens=count_with_encoding(encoding, request), method="tiktoken")
