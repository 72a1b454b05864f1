"""PII redaction: a pure function and the middleware that applies it to every message."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from sessions_app.exceptions import ConfigurationError
from sessions_app.pipeline.base import MessageMiddleware, PipelineMessage

# Cards run before phones so a card number is never half-eaten as a phone number,
# and emails run first so digits inside an address stay part of the address.
PII_KINDS: tuple[str, ...] = ("email", "card", "ssn", "phone")

REPLACEMENTS: dict[str, str] = {
    "email": "[REDACTED_EMAIL]",
    "card": "[REDACTED_CARD]",
    "ssn": "[REDACTED_SSN]",
    "phone": "[REDACTED_PHONE]",
}

# The documents' names of kinds.
KIND_ALIASES: dict[str, str] = {"credit_card": "card"}
# What SecurityMiddleware() redacts: the documents' default, in their names, plus phones.
DEFAULT_FILTERS = ("ssn", "credit_card", "email", "phone")

CARD_MIN_DIGITS, CARD_MAX_DIGITS = 13, 19
# E.164 allows at most 15 digits; fewer than 8 is more likely a quantity than a phone.
PHONE_MIN_DIGITS, PHONE_MAX_DIGITS = 8, 15

_DIGIT_RUN = re.compile(r"[0-9]+")

_EMAIL = re.compile(
    r"(?<![\w.%+-])[\w.%+-]+@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}\b",
    re.ASCII,
)

# Any run of 13+ digits joined by single spaces or dashes; the callback finds the card
# inside it (a trailing expiry date or reference number must not hide the card).
_CARD_CANDIDATE = re.compile(r"(?<![0-9+])(?<![0-9][ -])[0-9](?:[ -]?[0-9]){12,}", re.ASCII)

_SSN = re.compile(
    r"(?<![0-9])(?<![0-9]-)"
    r"(?!000|666|9)[0-9]{3}-(?!00)[0-9]{2}-(?!0000)[0-9]{4}"
    r"(?![0-9])(?!-[0-9])",
    re.ASCII,
)

_PHONE_INTERNATIONAL = re.compile(
    r"(?<![\w+])\+"
    r"(?:[0-9]{7,15}"
    r"|[0-9]{1,3}"
    r"(?:[ .-]?\([0-9]{1,4}\)[ .-]?[0-9]{1,12}|[ .-][0-9]{1,12})"
    r"(?:[ .-][0-9]{1,12}){0,5})"
    r"(?![0-9])",
    re.ASCII,
)

_PHONE_NORTH_AMERICAN = re.compile(
    r"(?<![\w+(])(?:1[ .-]?)?"
    r"(?:\([2-9][0-9]{2}\)[ .-]?|[2-9][0-9]{2}[ .-])"
    r"[0-9]{3}[ .-][0-9]{4}"
    r"(?![0-9])(?![.-][0-9])",
    re.ASCII,
)

_ANY_DIGIT = re.compile(r"[0-9]")


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum of a string of ASCII digits."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _card_span(runs: list[re.Match[str]], start: int) -> int | None:
    """Index of the last digit group of the longest Luhn-valid card starting at ``start``."""
    digits = ""
    candidates: list[tuple[int, str]] = []
    for index in range(start, len(runs)):
        digits += runs[index].group()
        if len(digits) > CARD_MAX_DIGITS:
            break
        if len(digits) >= CARD_MIN_DIGITS:
            candidates.append((index, digits))
    for index, number in reversed(candidates):
        if luhn_valid(number):
            return index
    return None


def _redact_cards(candidate: str) -> tuple[str, int]:
    """Replace each Luhn-valid card made of whole digit groups of ``candidate``."""
    runs = list(_DIGIT_RUN.finditer(candidate))
    pieces: list[str] = []
    cursor = 0
    found = 0
    index = 0
    while index < len(runs):
        last = _card_span(runs, index)
        if last is None:
            index += 1
            continue
        pieces += [candidate[cursor : runs[index].start()], REPLACEMENTS["card"]]
        cursor = runs[last].end()
        found += 1
        index = last + 1
    pieces.append(candidate[cursor:])
    return "".join(pieces), found


def _redact_phone(candidate: str) -> tuple[str, int]:
    """Replace the phone number at the start of ``candidate``, leaving trailing extra groups."""
    digits = 0
    end = 0
    for run in _DIGIT_RUN.finditer(candidate):
        if digits + len(run.group()) > PHONE_MAX_DIGITS:
            break
        digits += len(run.group())
        end = run.end()
    if digits < PHONE_MIN_DIGITS:
        return candidate, 0
    return REPLACEMENTS["phone"] + candidate[end:], 1


def _sub_checked(
    pattern: re.Pattern[str], check: Callable[[str], tuple[str, int]], text: str
) -> tuple[str, int]:
    """``pattern.sub`` where ``check`` decides, per match, what is redacted."""
    count = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal count
        replaced, found = check(match.group())
        count += found
        return replaced

    return pattern.sub(replace, text), count


def _redact_email(text: str) -> tuple[str, int]:
    if "@" not in text:
        return text, 0
    return _EMAIL.subn(REPLACEMENTS["email"], text)


def _redact_card(text: str) -> tuple[str, int]:
    return _sub_checked(_CARD_CANDIDATE, _redact_cards, text)


def _redact_ssn(text: str) -> tuple[str, int]:
    return _SSN.subn(REPLACEMENTS["ssn"], text)


def _redact_phones(text: str) -> tuple[str, int]:
    text, international = _sub_checked(_PHONE_INTERNATIONAL, _redact_phone, text)
    text, north_american = _PHONE_NORTH_AMERICAN.subn(REPLACEMENTS["phone"], text)
    return text, international + north_american


_REDACTORS: dict[str, Callable[[str], tuple[str, int]]] = {
    "email": _redact_email,
    "card": _redact_card,
    "ssn": _redact_ssn,
    "phone": _redact_phones,
}
_NEED_DIGITS = frozenset({"card", "ssn", "phone"})


def check_kinds(kinds: Iterable[str] | None) -> tuple[str, ...]:
    """The requested kinds in redaction order; ``None`` means all. Raises ``ValueError``.

    ``credit_card`` (the documents' name) means ``card``.
    """
    if kinds is None:
        return PII_KINDS
    named = {kinds} if isinstance(kinds, str) else set(kinds)
    requested = {KIND_ALIASES.get(kind, kind) for kind in named}
    unknown = requested.difference(PII_KINDS)
    if unknown:
        known = [*PII_KINDS, *KIND_ALIASES]
        raise ValueError(f"Unknown PII kinds {sorted(unknown)}; known: {known}")
    return tuple(kind for kind in PII_KINDS if kind in requested)


def redact_pii(text: str, kinds: Iterable[str] | None = None) -> tuple[str, dict[str, int]]:
    """Redact PII from ``text``; returns the new text and how many of each kind were replaced.

    Kinds are ``email``, ``card`` (Luhn-checked), ``ssn`` (US, dashed) and ``phone``
    (international ``+`` numbers and North-American forms). Kinds with no match are
    absent from the counts, so an untouched text gives ``(text, {})``.
    """
    counts: dict[str, int] = {}
    if not text:
        return text, counts
    has_digits = _ANY_DIGIT.search(text) is not None
    for kind in check_kinds(kinds):
        if kind in _NEED_DIGITS and not has_digits:
            continue
        text, found = _REDACTORS[kind](text)
        if found:
            counts[kind] = found
    return text, counts


class SecurityMiddleware(MessageMiddleware):
    """Redacts PII from incoming and outgoing content.

    When something was redacted, ``metadata["redactions"]`` holds the counts per
    kind (e.g. ``{"email": 1}``); the original text is not kept anywhere.
    ``filters`` is the documents' name of ``kinds``; with neither, every kind is
    redacted (the documents' default leaves out ``phone``).
    """

    def __init__(
        self, kinds: Iterable[str] | None = None, *, filters: Iterable[str] | None = None
    ) -> None:
        if kinds is not None and filters is not None:
            raise ConfigurationError("SecurityMiddleware takes kinds or filters, not both.")
        kinds = filters if kinds is None else kinds
        try:
            self.kinds = check_kinds(kinds)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from exc
        # The documents' attribute: the kinds as asked for.
        self.filters: list[str] = (
            list(DEFAULT_FILTERS)
            if kinds is None
            else [kinds]
            if isinstance(kinds, str)
            else list(kinds)
        )

    def process(self, message: PipelineMessage) -> PipelineMessage:
        redacted, counts = redact_pii(message.content, self.kinds)
        if counts:
            message.content = redacted
            # A new dict: the caller's metadata object is not ours to mutate.
            message.metadata = {**message.metadata, "redactions": counts}
        return message


PIIRedactionMiddleware = SecurityMiddleware
