"""Token counting: tiktoken when an encoding is at hand without a download, else the estimate."""

from __future__ import annotations

import hashlib

import pytest
import tiktoken
import tiktoken.load

from sessions_app.providers import tokens
from sessions_app.providers.base import estimate_tokens
from tests.providers.openai_wire import Wire, provider, request


def tiny_encoding() -> tiktoken.Encoding:
    """A real byte-level BPE: every byte a token, plus one merge for "ab"."""
    ranks = {bytes([byte]): byte for byte in range(256)}
    ranks[b"ab"] = 256
    return tiktoken.Encoding(
        name="tiny", pat_str=r"\S+|\s+", mergeable_ranks=ranks, special_tokens={}
    )


@pytest.fixture
def no_download(monkeypatch):
    """Fail any attempt of tiktoken to fetch a file."""
    fetched: list[str] = []

    def refuse(blobpath: str) -> bytes:
        fetched.append(blobpath)
        raise AssertionError(f"tiktoken tried to download {blobpath}")

    monkeypatch.setattr(tiktoken.load, "read_file", refuse)
    monkeypatch.setattr(tokens, "_loaded", {})
    return fetched


def test_an_injected_encoding_counts_with_tiktoken():
    turn = request("abab", "xyz", "<|endoftext|>", system="sys")
    count = provider(Wire(), tokenizer=tiny_encoding()).count_tokens(turn)

    # "abab" is 2 tokens, "xyz" 3, the special-looking text 13 plain bytes, "sys" 3;
    # 3 tokens of framing per message and 3 to prime the reply.
    assert (count.method, count.tokens) == ("tiktoken", 2 + 3 + 13 + 3 + 4 * 3 + 3)


def test_without_a_cached_encoding_it_estimates_and_downloads_nothing(
    monkeypatch, tmp_path, no_download
):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    turn = request("hello there", model="gpt-4o")

    count = provider(Wire()).count_tokens(turn)

    assert (count.method, count.tokens) == ("estimate", estimate_tokens(turn))
    assert no_download == []


def test_an_unknown_model_and_the_estimate_option_estimate(no_download):
    assert tokens.count_tokens(request("hi", model="llama3.1:8b")).method == "estimate"
    assert provider(Wire(), tokenizer="estimate").count_tokens(request("hi")).method == "estimate"
    assert no_download == []


def test_a_corrupt_cached_file_is_not_used_nor_refetched(monkeypatch, tmp_path, no_download):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    url, _ = tokens.ENCODING_FILES["o200k_base"]
    path = tokens.tiktoken_cache_path(url)
    assert path is not None
    with open(path, "wb") as cached:
        cached.write(b"not the real ranks")

    assert tokens.count_tokens(request("hi", model="gpt-4o")).method == "estimate"
    assert no_download == []


@pytest.mark.parametrize("variable", ["TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR", None])
def test_the_cache_path_is_where_tiktoken_reads_it(monkeypatch, tmp_path, variable, no_download):
    monkeypatch.delenv("TIKTOKEN_CACHE_DIR", raising=False)
    monkeypatch.delenv("DATA_GYM_CACHE_DIR", raising=False)
    if variable:
        monkeypatch.setenv(variable, str(tmp_path))
    else:
        monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    url = "https://example.invalid/b1-test.tiktoken"
    path = tokens.tiktoken_cache_path(url)
    assert path is not None
    (tmp_path / "data-gym-cache").mkdir(exist_ok=True)
    content = b"cached by the test"
    with open(path, "wb") as cached:
        cached.write(content)

    expected = hashlib.sha256(content).hexdigest()
    assert tiktoken.load.read_file_cached(url, expected) == content
    assert no_download == []


def test_an_empty_cache_dir_disables_tiktoken_caching(monkeypatch):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")

    assert tokens.tiktoken_cache_path("https://example.invalid/x") is None
