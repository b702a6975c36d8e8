"""Every line through one masked pipeline: structlog's, the standard library's, uncaught exceptions.

Personnummer literals are Skatteverket's official test numbers.
"""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from app.core.logging import _incoming_request_id, configure_logging, log_uncaught
from app.core.settings import LogFormat

PNR = "198112022382"
FORMS = (PNR, PNR[2:], f"{PNR[2:8]}-{PNR[8:]}", f"{PNR[2:4]} {PNR[4:6]} {PNR[6:8]} - {PNR[8:10]} {PNR[10:]}")


def stdlib_lines(fmt: LogFormat, capsys: pytest.CaptureFixture[str]) -> str:
    configure_logging(fmt)
    logger = logging.getLogger("iub.journal.dispatcher")
    for form in FORMS:
        logger.warning("delivery of %s failed", form, extra={"event_id": 7, "value": form})
        try:
            raise ValueError(f"invalid input for query argument $1: '{form}'")
        except ValueError:
            logger.exception("outbox event cannot be delivered")
    return capsys.readouterr().err


@pytest.mark.parametrize("fmt", list(LogFormat))
def test_standard_library_records_are_masked_like_ours(fmt: LogFormat, capsys: pytest.CaptureFixture[str]) -> None:
    err = stdlib_lines(fmt, capsys)
    assert [form for form in FORMS if form in err] == []
    assert err.count("[personnummer]") >= 4 * len(FORMS)
    assert "Traceback" in err and "ValueError" in err


def test_standard_library_records_are_one_json_line_each_with_logger_and_extras(
    capsys: pytest.CaptureFixture[str],
) -> None:
    lines = [json.loads(line) for line in stdlib_lines(LogFormat.json, capsys).splitlines()]
    assert len(lines) == 2 * len(FORMS)
    warning, failure = lines[0], lines[1]
    assert warning["logger"] == "iub.journal.dispatcher"
    assert warning["level"] == "warning"
    assert warning["event"] == "delivery of [personnummer] failed"
    assert warning["event_id"] == 7 and warning["value"] == "[personnummer]"
    assert failure["level"] == "error"
    assert failure["exception"].startswith("Traceback") and "[personnummer]" in failure["exception"]


def test_uvicorn_has_no_handler_of_its_own(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(LogFormat.json)
    for name in ("uvicorn", "uvicorn.error"):
        assert logging.getLogger(name).handlers == [] and logging.getLogger(name).propagate
    logging.getLogger("uvicorn.error").error("Exception in ASGI application %s", PNR)
    line = json.loads(capsys.readouterr().err)
    assert line["logger"] == "uvicorn.error" and PNR not in line["event"]


def test_configuring_again_replaces_our_handler_and_keeps_others() -> None:
    other = logging.NullHandler()
    root = logging.getLogger()
    root.addHandler(other)
    try:
        configure_logging(LogFormat.json)
        configure_logging(LogFormat.console)
        ours = [h for h in root.handlers if type(h).__name__ == "_RootHandler"]
        assert len(ours) == 1 and other in root.handlers
    finally:
        root.removeHandler(other)


def test_an_exception_logged_as_a_value_is_masked(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(LogFormat.json)
    structlog.get_logger("iub").warning("lookup_failed", error=LookupError(f"no person {PNR}"), method=PNR)
    line = json.loads(capsys.readouterr().err)
    assert line["error"] == "LookupError: no person [personnummer]" and line["method"] == "[personnummer]"


def test_an_uncaught_exception_is_logged_masked(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(LogFormat.json)
    try:
        raise RuntimeError(f"worker crashed on {PNR}")
    except RuntimeError:
        log_uncaught()
    line = json.loads(capsys.readouterr().err)
    assert line["event"] == "uncaught_exception" and line["level"] == "critical"
    assert PNR not in line["exception"] and "RuntimeError: worker crashed on [personnummer]" in line["exception"]


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("trace-abc-12345", True),
        ("3f1d2c4b-0000-4000-8000-000000000000", True),
        ("A" * 64, True),
        ("A" * 65, False),
        ("abc.def", False),
        ("abc def", False),
        ("abc_def", False),
        ("", False),
        ("räksmörgås", False),
        (PNR, False),  # the right shape, but a personnummer
        (f"{PNR[:8]}-{PNR[8:]}", False),
        (f"req-{PNR[2:]}", False),
    ],
)
def test_a_client_request_id_is_kept_only_in_a_safe_shape(sent: str, kept: bool) -> None:
    scope = {"type": "http", "headers": [(b"x-request-id", sent.encode())]}
    assert (_incoming_request_id(scope) == sent) is kept


def test_the_command_line_logs_an_uncaught_exception_masked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import app.cli

    def crash() -> None:
        raise RuntimeError(f"invalid input for query argument $1: '{PNR}'")

    configure_logging(LogFormat.console)
    monkeypatch.setattr(app.cli, "cli", crash)
    with pytest.raises(SystemExit) as exit_:
        app.cli.main()
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert "uncaught_exception" in err and "Traceback" in err
    assert PNR not in err and "'[personnummer]'" in err


@pytest.mark.parametrize("method", ["POST", f"X{PNR[2:8]}-{PNR[8:]}"])
def test_the_direct_access_line_is_the_pipelines_line(method: str, capsys: pytest.CaptureFixture[str]) -> None:
    from app.core.logging import _AccessLine, access_log

    configure_logging(LogFormat.json)
    assert _AccessLine.direct
    structlog.contextvars.bind_contextvars(request_id="abc-123")
    try:
        access_log.info("request", method=method, route="/v1/eligibility/check", status=200, duration_ms=1.25)
        _AccessLine.write("abc-123", method, "/v1/eligibility/check", 200, 1.25)
    finally:
        structlog.contextvars.clear_contextvars()
    piped, direct = (json.loads(line) for line in capsys.readouterr().err.splitlines())
    assert piped.pop("timestamp")[:10] == direct.pop("timestamp")[:10]
    assert list(piped.items()) == list(direct.items())
    assert PNR[2:8] not in direct["method"]


def test_the_access_line_follows_the_level_and_format(capsys: pytest.CaptureFixture[str]) -> None:
    from app.core.logging import _AccessLine

    configure_logging(LogFormat.console)
    assert not _AccessLine.direct and _AccessLine.enabled
    configure_logging(LogFormat.json, "WARNING")
    assert not _AccessLine.direct and not _AccessLine.enabled
    configure_logging(LogFormat.json)
    assert _AccessLine.direct
