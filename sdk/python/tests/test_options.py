"""Client options: environment fallbacks, deprecated names, checks of every setting."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import pytest

import sealog
import sealog.aio
import sealog.client
from offline import KEY


def test_env_fallbacks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SEALOG_URL", "http://127.0.0.1:1/")
    monkeypatch.setenv("SEALOG_LOG", "prod-log")
    monkeypatch.setenv("SEALOG_API_KEY", "abc")
    monkeypatch.setenv("SEALOG_AGENT", "env-agent")
    monkeypatch.setenv("SEALOG_COMMITMENT_KEY", KEY)
    monkeypatch.setenv("SEALOG_SPOOL_DIR", str(tmp_path))
    c = sealog.Sealog()
    try:
        assert (c.url, c.log, c.api_key, c.agent) == (
            "http://127.0.0.1:1",
            "prod-log",
            "abc",
            {"id": "env-agent"},
        )
        assert c.commitment_key == bytes.fromhex(KEY)
        assert str(c.spool.dir).startswith(str(tmp_path))
    finally:
        c._delivery.closed = True


_URL_AND_KEY_VARS = ("SEALOG_URL", "SEALOG_API_KEY", "SEALOG_SERVER", "SEALOG_TOKEN")


def env_client(tmp_path: Path, **kw: Any) -> sealog.Sealog:
    """A client built from the environment, except for its commitment key and spool."""
    c = sealog.Sealog(commitment_key=KEY, spool_dir=tmp_path / "spool", **kw)
    c._delivery.closed = True  # nothing to deliver: don't try at teardown
    return c


def deprecations(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]


def test_default_url_is_where_the_server_listens(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in _URL_AND_KEY_VARS:
        monkeypatch.delenv(name, raising=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        c = env_client(tmp_path)
    # `sealog serve` listens on 127.0.0.1:7300 unless told otherwise.
    assert c.url == sealog.client.DEFAULT_URL == "http://127.0.0.1:7300"
    assert c.api_key is None
    assert deprecations(caught) == []


def test_deprecated_env_names_are_read_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    for name in _URL_AND_KEY_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SEALOG_SERVER", "http://127.0.0.1:1/")
    monkeypatch.setenv("SEALOG_TOKEN", "old-secret")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        c = env_client(tmp_path)
    assert (c.url, c.api_key) == ("http://127.0.0.1:1", "old-secret")
    assert deprecations(caught) == [
        "sealog: the environment variable SEALOG_SERVER is deprecated; set SEALOG_URL instead",
        "sealog: the environment variable SEALOG_TOKEN is deprecated; set SEALOG_API_KEY instead",
    ]
    # Each warning points at the line that built the client, where the user can act on it.
    assert {w.filename for w in caught if w.category is DeprecationWarning} == {__file__}
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert [m for m in logged if "deprecated" in m] == deprecations(caught)
    assert "old-secret" not in caplog.text


def test_deprecation_names_the_users_line_for_the_async_client_too(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in _URL_AND_KEY_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SEALOG_SERVER", "http://127.0.0.1:1")
    with pytest.warns(
        DeprecationWarning, match=r"SEALOG_SERVER is deprecated; set SEALOG_URL"
    ) as w:
        a = sealog.AsyncSealog(commitment_key=KEY, spool_dir=tmp_path)
    a.sync._delivery.closed = True
    assert a.sync.url == "http://127.0.0.1:1"
    assert [r.filename for r in w] == [__file__]


def test_one_deprecated_name_gives_one_warning(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in _URL_AND_KEY_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SEALOG_TOKEN", "old-secret")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        c = env_client(tmp_path)
    assert (c.url, c.api_key) == ("http://127.0.0.1:7300", "old-secret")
    assert len(deprecations(caught)) == 1 and "SEALOG_API_KEY" in deprecations(caught)[0]


def test_new_env_names_and_arguments_win_over_deprecated_ones(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SEALOG_URL", "http://127.0.0.1:2")
    monkeypatch.setenv("SEALOG_API_KEY", "new-secret")
    monkeypatch.setenv("SEALOG_SERVER", "http://127.0.0.1:1")
    monkeypatch.setenv("SEALOG_TOKEN", "old-secret")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from_env = env_client(tmp_path)
        monkeypatch.delenv("SEALOG_URL")
        monkeypatch.delenv("SEALOG_API_KEY")
        from_args = env_client(tmp_path, url="http://127.0.0.1:3", api_key="arg-secret")
    assert (from_env.url, from_env.api_key) == ("http://127.0.0.1:2", "new-secret")
    assert (from_args.url, from_args.api_key) == ("http://127.0.0.1:3", "arg-secret")
    # A deprecated name that is not used is not warned about.
    assert deprecations(caught) == []
    assert "deprecated" not in caplog.text


@pytest.mark.parametrize(
    ("option", "value", "error", "message"),
    [
        (
            "batch_size",
            0,
            ValueError,
            r"^batch_size must be at least 1 \(events per request\); got 0$",
        ),
        ("batch_size", -5, ValueError, r"^batch_size must be at least 1 .*got -5$"),
        ("batch_size", 1.5, TypeError, r"^batch_size must be an int, a number of events per "),
        ("batch_size", "100", TypeError, r"^batch_size must be an int.*got str '100'$"),
        ("batch_size", True, TypeError, r"^batch_size must be an int.*got bool True$"),
        ("max_queue", 0, ValueError, r"^max_queue must be at least 1 \(events held in memory\)"),
        ("max_queue", None, TypeError, r"^max_queue must be an int.*got NoneType None$"),
        ("spool_max_bytes", -1, ValueError, r"^spool_max_bytes must be at least 0 \(bytes\)"),
        (
            "flush_interval",
            0,
            ValueError,
            r"^flush_interval must be a finite number of seconds "
            r"greater than 0, e\.g\. flush_interval=0\.2; got 0$",
        ),
        ("flush_interval", -1.0, ValueError, r"^flush_interval must be a finite number"),
        ("flush_interval", float("nan"), ValueError, r"^flush_interval must be .*got nan$"),
        ("flush_interval", float("inf"), ValueError, r"^flush_interval must be a finite .*inf$"),
        (
            "flush_interval",
            "0.2",
            TypeError,
            r"^flush_interval must be a number of seconds "
            r"\(int or float, e\.g\. flush_interval=0\.2\); got str '0\.2'$",
        ),
        (
            "spill_after",
            -1,
            ValueError,
            r"^spill_after must be a number of seconds 0 or more "
            r"\(math\.inf for never\)",
        ),
        ("backoff_base", 0, ValueError, r"^backoff_base must be .* greater than 0"),
        ("backoff_max", 0.0, ValueError, r"^backoff_max must be .* greater than 0"),
        ("request_timeout", None, TypeError, r"^request_timeout must be a number of seconds"),
        ("request_timeout", 0, ValueError, r"^request_timeout must be a finite number"),
        (
            "atexit_timeout",
            -0.5,
            ValueError,
            r"^atexit_timeout must be a finite number of "
            r"seconds 0 or more",
        ),
        (
            "on_reject",
            "print",
            TypeError,
            r"^on_reject must be a function taking a "
            r"sealog\.Rejection, or None; got str 'print'$",
        ),
    ],
)
def test_bad_client_options_fail_at_construction(
    tmp_path: Path, option: str, value: Any, error: type[Exception], message: str
) -> None:
    spool = tmp_path / "spool"
    kw: dict[str, Any] = {option: value}
    with pytest.raises(error, match=message):
        sealog.Sealog(url="http://127.0.0.1:1", commitment_key=KEY, spool_dir=spool, **kw)
    assert not spool.exists()  # checked before the client set anything up


def test_async_client_checks_its_options_too(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^max_queue must be at least 1"):
        sealog.AsyncSealog(url="http://127.0.0.1:1", commitment_key=KEY, max_queue=0)
    a = sealog.AsyncSealog(
        "http://127.0.0.1:1", "other-log", "k", "bot", KEY, spool_dir=tmp_path, batch_size=7
    )
    a.sync._delivery.closed = True
    assert (a.sync.url, a.sync.log, a.sync.api_key, a.sync.agent) == (
        "http://127.0.0.1:1",
        "other-log",
        "k",
        {"id": "bot"},
    )
    assert a.sync.commitment_key == bytes.fromhex(KEY) and a.sync.batch_size == 7


def test_edge_client_options_are_accepted(tmp_path: Path) -> None:
    c = sealog.Sealog(
        url="http://127.0.0.1:1",
        commitment_key=KEY,
        spool_dir=tmp_path,
        batch_size=1,
        max_queue=1,
        spool_max_bytes=0,
        flush_interval=3600,
        spill_after=float("inf"),
        atexit_timeout=0,
        on_reject=print,
    )
    c._delivery.closed = True
    assert (c.batch_size, c.max_queue, c.spool.max_bytes) == (1, 1, 0)
    assert (c.flush_interval, c.spill_after, c.atexit_timeout) == (3600.0, float("inf"), 0.0)
    assert type(c.flush_interval) is float and c.on_reject is print


def test_client_options_set_later_are_checked_too(offline: sealog.Sealog) -> None:
    with pytest.raises(ValueError, match=r"^batch_size must be at least 1"):
        offline.batch_size = 0
    with pytest.raises(TypeError, match=r"^flush_interval must be a number of seconds"):
        offline.flush_interval = "fast"  # type: ignore[assignment]
    with pytest.raises(TypeError, match=r"^on_reject must be a function"):
        offline.on_reject = 3  # type: ignore[assignment]
    assert (offline.batch_size, offline.flush_interval) == (10**9, 3600.0)
    offline.backoff_base = 2
    assert offline._delivery.backoff_base == 2.0
