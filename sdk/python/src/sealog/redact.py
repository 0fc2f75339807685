"""Optional redactor: removes common secrets and personal data from plain content.

Categories: ``email``, ``phone``, ``api_key`` (OpenAI, Anthropic, AWS, GitHub, Google, Slack,
Stripe, Hugging Face …), ``jwt``, ``bearer_token``, ``iban``, ``card_number`` (Luhn-checked).
Matches are replaced by ``[<category>]`` and the categories found are returned so the
event can say what was removed (payload member ``redacted``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["CATEGORIES", "Redactor", "luhn_ok"]


def luhn_ok(digits: str) -> bool:
    """Whether a string of digits passes the Luhn check (as card numbers do)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _iban_ok(s: str) -> bool:
    s = s.replace(" ", "").upper()
    if not 15 <= len(s) <= 34:
        return False
    rearranged = s[4:] + s[:4]
    num = "".join(str(int(c, 36)) for c in rearranged)
    return int(num) % 97 == 1


_DATE = re.compile(r"^\d{4}[-./]\d{1,2}[-./]\d{1,2}$|^\d{1,2}[-./]\d{1,2}[-./]\d{4}$")

_PATTERNS: list[tuple[str, re.Pattern[str], Callable[[str], bool] | None]] = [
    (
        "jwt",
        re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}"),
        None,
    ),
    (
        "bearer_token",
        re.compile(r"(?i)\bbearer\s+[A-Za-z0-9\-._~+/]{16,}=*"),
        None,
    ),
    (
        "api_key",
        re.compile(
            r"\b(?:sk-ant-[A-Za-z0-9_-]{20,}|sk-(?:proj-|live-|test-)?[A-Za-z0-9_-]{20,}"
            r"|(?:AKIA|ASIA)[A-Z0-9]{16}|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,}"
            r"|AIza[0-9A-Za-z_-]{35}|xox[abposr]-[A-Za-z0-9-]{10,}|(?:sk|rk|pk)_(?:live|test)_"
            r"[A-Za-z0-9]{16,}|hf_[A-Za-z0-9]{30,}|glpat-[A-Za-z0-9_-]{20,})"
        ),
        None,
    ),
    ("email", re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b"), None),
    (
        "iban",
        re.compile(r"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b"),
        _iban_ok,
    ),
    (
        "card_number",
        re.compile(r"\b(?:\d[ -]?){12,18}\d\b"),
        lambda m: luhn_ok(re.sub(r"[ -]", "", m)),
    ),
    (
        "phone",
        re.compile(
            r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]?\d{2,4}){2,4}\b"
        ),
        lambda m: 8 <= sum(c.isdigit() for c in m) <= 15 and not _DATE.match(m),
    ),
]

CATEGORIES: tuple[str, ...] = tuple(name for name, _, _ in _PATTERNS)


class Redactor:
    """Replace sensitive substrings in strings (recursively in lists and dicts).

    ``categories`` picks the built-in ones to look for (default all: ``email``, ``phone``,
    ``api_key``, ``jwt``, ``bearer_token``, ``iban``, ``card_number``; an unknown name raises
    ValueError); ``extra`` adds your own as ``{category: regular expression}``.
    """

    def __init__(
        self,
        categories: Iterable[str] | None = None,
        extra: dict[str, str | re.Pattern[str]] | None = None,
    ) -> None:
        wanted = set(CATEGORIES if categories is None else categories)
        unknown = wanted - set(CATEGORIES)
        if unknown:
            raise ValueError(f"unknown redaction categories: {sorted(unknown)}")
        self._patterns = [p for p in _PATTERNS if p[0] in wanted]
        for name, pat in (extra or {}).items():
            rx = re.compile(pat) if isinstance(pat, str) else pat
            self._patterns.append((name, rx, None))

    def redact_text(self, text: str, found: set[str] | None = None) -> str:
        """``text`` with each match replaced by ``[category]``; the categories found are added
        to ``found`` if given."""
        for name, rx, check in self._patterns:

            def repl(m: re.Match[str], name: str = name, check: Any = check) -> str:
                s = m.group(0)
                if check is not None and not check(s):
                    return s
                if found is not None:
                    found.add(name)
                return f"[{name}]"

            text = rx.sub(repl, text)
        return text

    def redact(self, value: Any) -> tuple[Any, list[str]]:
        """Return ``(redacted copy, sorted categories removed)``."""
        found: set[str] = set()
        out = self._walk(value, found)
        return out, sorted(found)

    def _walk(self, v: Any, found: set[str]) -> Any:
        if isinstance(v, str):
            return self.redact_text(v, found)
        if isinstance(v, dict):
            return {k: self._walk(x, found) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [self._walk(x, found) for x in v]
        return v
