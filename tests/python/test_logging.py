"""set_logger and the logging fallback."""
import gc
import logging
import sys
import threading
import time

import pytest

import wintun
from wintun._logging import filetime_to_unix


@pytest.fixture(autouse=True)
def restore_logger():
    yield
    wintun.set_logger(None)


def test_callback_arguments_and_filetime():
    lines = []
    wintun.set_logger(lambda *args: lines.append(args))
    with wintun.TunDevice("logme", backend="emulated"):
        pass
    level, timestamp, message = lines[0]
    assert level == wintun.LOG_INFO and message == 'Created emulated adapter "logme"'
    assert isinstance(timestamp, int)
    assert abs(filetime_to_unix(timestamp) - time.time()) < 5
    assert (wintun.LOG_INFO, wintun.LOG_WARN, wintun.LOG_ERR) == (0, 1, 2)


def test_error_lines_carry_text_and_code():
    lines = []
    wintun.set_logger(lambda *args: lines.append(args))
    with wintun.TunDevice("logdup", backend="emulated"):
        with pytest.raises(wintun.AlreadyExistsError):
            wintun.TunDevice("logdup", backend="emulated")
    errors = [m for lvl, _, m in lines if lvl == wintun.LOG_ERR]
    assert errors and errors[0].endswith("(Code 0x000000B7)")


def test_the_module_keeps_its_own_reference():
    lines = []

    def make_callback():
        return lambda *args: lines.append(args)

    wintun.set_logger(make_callback())  # no other reference exists
    gc.collect()
    with wintun.TunDevice("logref", backend="emulated"):
        pass
    assert lines


def test_raising_callback_goes_to_unraisablehook(monkeypatch):
    seen = []
    monkeypatch.setattr(sys, "unraisablehook", lambda info: seen.append(info))

    def bad(level, timestamp, message):
        raise RuntimeError("boom")

    wintun.set_logger(bad)
    with wintun.TunDevice("lograise", backend="emulated") as tun:  # no exception escapes here
        tun.mtu = 1400
        assert tun.mtu == 1400
    assert seen and isinstance(seen[0].exc_value, RuntimeError)


def test_called_from_other_threads():
    names, lock = set(), threading.Lock()

    def record(level, timestamp, message):
        with lock:
            names.add(threading.current_thread().name)

    wintun.set_logger(record)
    barrier = threading.Barrier(4)

    def clash():
        barrier.wait()
        try:
            wintun.TunDevice("logthr", backend="emulated")
        except wintun.AlreadyExistsError:
            pass  # logged at ERR on this thread

    with wintun.TunDevice("logthr", backend="emulated"):
        workers = [threading.Thread(target=clash, name=f"worker-{i}") for i in range(4)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(10)
    assert {f"worker-{i}" for i in range(4)} <= names


def test_default_goes_to_logging(caplog):
    wintun.set_logger(None)
    with caplog.at_level(logging.INFO, logger="wintun"):
        with wintun.TunDevice("logdefault", backend="emulated"):
            with pytest.raises(wintun.AlreadyExistsError):
                wintun.TunDevice("logdefault", backend="emulated")
    records = [r for r in caplog.records if r.name == "wintun"]
    assert any(r.levelno == logging.INFO and "Created emulated adapter" in r.getMessage() for r in records)
    assert any(r.levelno == logging.ERROR and "already exists" in r.getMessage() for r in records)
    assert all(abs(r.created - time.time()) < 5 for r in records)


def test_set_logger_bad_input():
    with pytest.raises(TypeError, match="callable"):
        wintun.set_logger(42)
    with pytest.raises(TypeError, match="callable"):
        wintun._wintun.set_logger("print")
