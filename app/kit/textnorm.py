"""A normalisation pass for finding identity values in free text, with offsets back to the original.

People, and the programs they paste from, write one value in many ways: full-width or other
scripts' digits, no-break and thin spaces, typographic dashes, zero-width characters inside a
number, decomposed letters (`a` + a combining ring), an e-mail address written
`name (at) example.se`. Patterns are written once, for the plain form; this pass maps a text to
that form and remembers which characters of the original each character of the result came
from, so that a match found in the normalised text is replaced in the original text.

The normalised form:

- every whitespace character is one ASCII space (line breaks too);
- format characters (zero-width space and joiners, soft hyphen, direction marks) are removed;
- every dash (hyphen, en and em dash, minus sign, ...) is `-`;
- every decimal digit of any script is its ASCII digit;
- other characters are NFKC-normalised, a letter together with its combining marks (so `a` +
  combining diaeresis is `ä`, and full-width `＠` is `@`);
- an at sign or a dot written as a word in brackets (`(at)`, `[snabel-a]`, `(dot)`, `(punkt)`),
  a bare ` snabel-a `, an English ` at ` or ` dot ` between words of an address, and spaces
  around `@` are `@` and `.`.

Pure, no I/O. Text that is ASCII and holds no written-out at sign costs one `str.translate`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

__all__ = ["NormalizedText", "normalize_text"]

# ASCII whitespace other than the space itself becomes a space (one character for one).
_ASCII_SPACES: Final[dict[int, str]] = {ord(c): " " for c in "\t\n\r\f\v\x1c\x1d\x1e\x1f"}
_ASCII_SPACE_RE: Final = re.compile(r"[\t\n\r\f\v\x1c-\x1f]")


@dataclass(frozen=True, slots=True)
class NormalizedText:
    """`text` is the normalised form of `original`.

    `starts[i]` and `ends[i]` are the range of `original` that character `i` of `text` came
    from; both are None when every character maps to the character at the same index.
    """

    original: str
    text: str
    starts: tuple[int, ...] | None = None
    ends: tuple[int, ...] | None = None

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The range of `original` that `text[start:end]` came from (for a non-empty range)."""
        if self.starts is None or self.ends is None:
            return start, end
        if start >= end:
            at = self.starts[start] if start < len(self.starts) else len(self.original)
            return at, at
        return self.starts[start], self.ends[end - 1]


def normalize_text(text: str) -> NormalizedText:
    """The normalised form of `text`, with the map back to it (see the module docstring)."""
    if text.isascii():
        stage = NormalizedText(text, text.translate(_ASCII_SPACES) if _ASCII_SPACE_RE.search(text) else text)
    else:
        stage = _normalize_characters(text)
    if not _may_spell_out(stage.text):
        return stage
    return _spell_out_at_and_dot(stage)


# --- characters ---------------------------------------------------------------------------------


@lru_cache(maxsize=8192)
def _character(c: str) -> str:
    """What one non-ASCII character (without combining marks) becomes."""
    if c.isspace():
        return " "
    category = unicodedata.category(c)
    if category == "Cf":  # zero-width space and joiners, soft hyphen, direction marks
        return ""
    if category == "Pd" or c in "\u2212\u02d7\u2796":  # dashes, the minus sign
        return "-"
    digit = unicodedata.decimal(c, None)
    if digit is not None:
        return str(digit)
    return "".join(_plain(x) for x in unicodedata.normalize("NFKC", c))


def _plain(c: str) -> str:
    """A character of an NFKC result: ASCII as it is, anything else through `_character` rules."""
    if c.isascii():
        return c.translate(_ASCII_SPACES)
    if c.isspace():
        return " "
    if unicodedata.category(c) == "Pd" or c == "\u2212":
        return "-"
    digit = unicodedata.decimal(c, None)
    return str(digit) if digit is not None else c


# Characters known to map one for one, with what they map to (itself for most letters). Filled
# as characters are met; bounded by the size of Unicode.
_ONE_FOR_ONE: Final[dict[int, str]] = dict(_ASCII_SPACES)
_SAME: Final[set[str]] = {chr(i) for i in range(0x20, 0x7F)}
_SAME.update("åäöÅÄÖéÉüÜ")


def _normalize_characters(text: str) -> NormalizedText:
    # Most non-ASCII text (Swedish letters) maps one character to one: then no offsets are needed.
    chars = set(text)
    if chars <= _SAME:
        return NormalizedText(text, text)
    for c in chars - _SAME:
        if ord(c) in _ONE_FOR_ONE:
            continue
        mapped = _character(c) if not c.isascii() else c.translate(_ASCII_SPACES)
        if len(mapped) != 1 or unicodedata.combining(c):
            break
        if mapped == c:
            _SAME.add(c)
        else:
            _ONE_FOR_ONE[ord(c)] = mapped
    else:
        return NormalizedText(text, text.translate(_ONE_FOR_ONE))

    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        while j < n and unicodedata.combining(text[j]):
            j += 1
        c = text[i]
        if j == i + 1:
            piece = c.translate(_ASCII_SPACES) if c.isascii() else _character(c)
        else:  # a letter and its combining marks, composed
            piece = "".join(_plain(x) for x in unicodedata.normalize("NFKC", text[i:j]))
        for ch in piece:
            out.append(ch)
            starts.append(i)
            ends.append(j)
        i = j
    return NormalizedText(text, "".join(out), tuple(starts), tuple(ends))


# --- an at sign or a dot written out --------------------------------------------------------------

_OPEN: Final = r"[\(\[\{<]"
_CLOSE: Final = r"[\)\]\}>]"
# What could follow an at sign: a domain with at least one dot, written plainly or spelt out.
_AT: Final = r"(?:[aA][tT]|[sS][nN][aA][bB][eE][lL]-?[aA]|@)"
_DOT: Final = r"(?:[dD][oO][tT]|[pP][uU][nN][kK][tT])"
# What could follow an at sign: a domain with at least one dot, written plainly or spelt out.
_DOMAIN_AHEAD: Final = rf"(?:[^\W_][\w-]*(?:\.|[ ]*{_OPEN}[ ]*{_DOT}[ ]*{_CLOSE}|[ ]+{_DOT}[ ]+)[^\W_])"
# Written case-sensitively with both cases spelt out: faster than re.IGNORECASE on every note.
_SPELT: Final = re.compile(
    rf"""
      (?P<at>
          {_OPEN}[ ]*{_AT}[ ]*{_CLOSE}                        # (at) [at] {{at}} <at> (snabel-a) (@)
        | (?P<bare_at>[sS]nabel-[aA](?=[ ])|[aA][tT](?=[ ]+{_DOMAIN_AHEAD}))   # name at example dot se
        | @                                                  # name @ example.se
      )
    | (?P<dot>
          {_OPEN}[ ]*{_DOT}[ ]*{_CLOSE}                       # (dot) [punkt]
        | (?P<bare_dot>[dD][oO][tT](?=[ ]+[^\W_]))            # example dot se
      )
    """,
    re.VERBOSE,
)


def _after_a_word(text: str, at: int) -> bool:
    """A space, and a word character before it: "name at", not "at" at the start or "båt"."""
    return at >= 2 and text[at - 1] == " " and (text[at - 2].isalnum() or text[at - 2] == "_")


_SPELT_TOKENS: Final = ("@", " at ", "(at", "[at", "{at", "<at", "( at", "[ at", "dot", "punkt", "snabel")


def _may_spell_out(text: str) -> bool:
    """A cheap test for whether `_SPELT` could match at all (it is slow to search for)."""
    lowered = text.lower()
    return any(token in lowered for token in _SPELT_TOKENS)


def _spell_out_at_and_dot(stage: NormalizedText) -> NormalizedText:
    text = stage.text
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []

    def keep(a: int, b: int) -> None:
        for k in range(a, b):
            out.append(text[k])
            span = stage.original_span(k, k + 1)
            starts.append(span[0])
            ends.append(span[1])

    pos = 0
    for m in _SPELT.finditer(text):
        start, end = m.start(), m.end()
        if (m.group("bare_at") or m.group("bare_dot")) and not _after_a_word(text, start):
            continue
        # The spaces around the spelt-out sign go with it: "name (at) example.se" is one address.
        while start > pos and text[start - 1] == " ":
            start -= 1
        while end < len(text) and text[end] == " ":
            end += 1
        if (start, end) == (m.start(), m.end()) and m.group() == "@":
            continue  # a plain "@": nothing to do
        keep(pos, start)
        a, b = stage.original_span(start, end)
        out.append("@" if m.group("at") is not None else ".")
        starts.append(a)
        ends.append(b)
        pos = end
    if pos == 0:
        return stage
    keep(pos, len(text))
    return NormalizedText(stage.original, "".join(out), tuple(starts), tuple(ends))
