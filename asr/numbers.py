"""Spelling numbers out as English words, LibriSpeech style ("1845" -> "EIGHTEEN FORTY FIVE")."""

from __future__ import annotations

import re

__all__ = ["number_to_words", "spell_numbers"]

_ONES = (
    "ZERO ONE TWO THREE FOUR FIVE SIX SEVEN EIGHT NINE TEN ELEVEN TWELVE THIRTEEN FOURTEEN FIFTEEN SIXTEEN "
    "SEVENTEEN EIGHTEEN NINETEEN"
).split()
_TENS = "_ _ TWENTY THIRTY FORTY FIFTY SIXTY SEVENTY EIGHTY NINETY".split()
_SCALES = [(10**9, "BILLION"), (10**6, "MILLION"), (1000, "THOUSAND"), (100, "HUNDRED")]
_ORDINAL = {
    "ONE": "FIRST",
    "TWO": "SECOND",
    "THREE": "THIRD",
    "FIVE": "FIFTH",
    "EIGHT": "EIGHTH",
    "NINE": "NINTH",
    "TWELVE": "TWELFTH",
}


def number_to_words(n: int) -> str:
    """Cardinal words for a non-negative integer: 2301 -> TWO THOUSAND THREE HUNDRED ONE."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    for value, name in _SCALES:
        if n >= value:
            rest = n % value
            return f"{number_to_words(n // value)} {name}" + (f" {number_to_words(rest)}" if rest else "")
    raise AssertionError(n)


def _ordinal(words: str) -> str:
    head, _, last = words.rpartition(" ")
    if last in _ORDINAL:
        last = _ORDINAL[last]
    elif last.endswith("Y"):
        last = last[:-1] + "IETH"
    else:
        last += "TH"
    return f"{head} {last}".strip()


def _year(n: int) -> str:
    """Four-digit years read in pairs: 1845 -> EIGHTEEN FORTY FIVE, 1900 -> NINETEEN HUNDRED,
    1805 -> EIGHTEEN O FIVE."""
    high, low = divmod(n, 100)
    if low == 0:
        return f"{number_to_words(high)} HUNDRED"
    return f"{number_to_words(high)} {'O ' + _ONES[low] if low < 10 else number_to_words(low)}"


def _spell(match: re.Match) -> str:
    digits, suffix = match.group(1).replace(",", ""), (match.group(2) or "").lower()
    n = int(digits)
    if suffix in ("st", "nd", "rd", "th"):
        return _ordinal(number_to_words(n))
    if len(digits) == 4 and 1100 <= n <= 1999 and "," not in match.group(1):
        return _year(n)
    return number_to_words(n)


_NUMBER = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+)(st|nd|rd|th|ST|ND|RD|TH)?\b")


def spell_numbers(text: str) -> str:
    """Replace every integer (with optional 1,000 separators and ordinal suffix) by words."""
    return " ".join(_NUMBER.sub(_spell, text).split())
