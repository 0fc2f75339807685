"""The redactor: what it removes and what it leaves alone."""

from __future__ import annotations

import pytest

from sealog.redact import Redactor, luhn_ok


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("mail bob.smith+x@example.co.uk now", "email"),
        ("call +44 20 7946 0958", "phone"),
        ("call (555) 123-4567", "phone"),
        ("key sk-proj-abcdefghijklmnopqrstuvwxyz012345", "api_key"),
        ("key sk-ant-api03-abcdefghijklmnopqrstuvwxyz", "api_key"),
        ("aws AKIAIOSFODNN7EXAMPLE", "api_key"),
        ("gh ghp_abcdefghijklmnopqrstuvwxyz0123456789", "api_key"),
        ("tok eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0", "jwt"),
        ("Authorization: Bearer abcdefghijklmnopqrstuvwxyz", "bearer_token"),
        ("iban GB82 WEST 1234 5698 7654 32", "iban"),
        ("iban DE89370400440532013000", "iban"),
        ("card 4111 1111 1111 1111", "card_number"),
        ("card 5500-0000-0000-0004", "card_number"),
    ],
)
def test_redactor_categories(text: str, category: str) -> None:
    out, found = Redactor().redact({"t": [text]})
    assert category in found, (out, found)
    assert f"[{category}]" in out["t"][0]


@pytest.mark.parametrize(
    "text",
    ["order 12345 shipped", "on 2024-01-05", "card 4111 1111 1111 1112", "version 1.2.3"],
)
def test_redactor_leaves_harmless_text(text: str) -> None:
    out, found = Redactor().redact(text)
    assert out == text and found == []


def test_iban_checksum_is_checked() -> None:
    _, found = Redactor().redact("IBAN GB00 WEST 1234 5698 7654 32")
    assert "iban" not in found


def test_luhn() -> None:
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")


def test_redactor_category_subset() -> None:
    out, found = Redactor(categories=["email"]).redact("a@b.io 4111 1111 1111 1111")
    assert found == ["email"] and "4111" in out
    with pytest.raises(ValueError, match=r"^unknown redaction categories: \['nope'\]$"):
        Redactor(categories=["nope"])
