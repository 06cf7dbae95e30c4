"""Progress of long commands: a bar redrawn in place on a terminal, plain lines (each 10 % or
each 10 s) otherwise, nothing with --no-progress; EXSIM_PROGRESS overrides the choice."""
from __future__ import annotations

import io

import pytest

from exsim import cli
from exsim.progress import Progress, mode_for


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_a_terminal_gets_one_bar_redrawn_in_place(monkeypatch):
    monkeypatch.delenv("EXSIM_PROGRESS", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    out, clock = Terminal(), FakeClock()
    with Progress("klines BTCUSDT 1m", 200, unit="bars", stream=out, clock=clock) as p:
        assert p.mode == "bar"
        for _ in range(200):
            clock.t += 0.05
            p.update(1)
    text = out.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n")  # one line, finished once
    frames = text.rstrip("\n").split("\r")[1:]
    assert 50 <= len(frames) <= 101  # redrawn at most every 0.1 s (10 s of work)
    assert "[" + "#" * 24 + "]" in frames[-1] and "100.0%" in frames[-1] and "200/200 bars" in frames[-1]
    assert "bars/s" in frames[len(frames) // 2] and "ETA" in frames[len(frames) // 2]


def test_plain_output_is_a_line_each_ten_percent(monkeypatch):
    monkeypatch.delenv("EXSIM_PROGRESS", raising=False)
    out, clock = io.StringIO(), FakeClock()
    with Progress("funding BTCUSDT", 1000, unit="rows", stream=out, clock=clock) as p:
        assert p.mode == "lines"
        for _ in range(1000):
            clock.t += 0.001
            p.update(1)
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert [line.split(":")[1].split("%")[0].strip() for line in lines[:-1]] == [str(10 * k) for k in range(1, 10)]
    assert lines[0].startswith("funding BTCUSDT: 10% (100/1,000 rows, ")
    assert lines[-1].startswith("funding BTCUSDT: 100.0% done, 1,000 rows in 1.0 s")


def test_plain_output_also_every_ten_seconds(monkeypatch):
    monkeypatch.delenv("EXSIM_PROGRESS", raising=False)
    out, clock = io.StringIO(), FakeClock()
    p = Progress("slow", 1000, stream=out, clock=clock)
    for _ in range(40):  # 0.1 % per 2.5 s: 100 s, one 10 % step never reached
        clock.t += 2.5
        p.update(1)
    p.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 10 + 1 and all(line.startswith("slow: ") for line in lines)
    assert lines[0] == "slow: 0% (ETA 41:30)" and lines[-1] == "slow: 4.0% done in 100.0 s"  # 4 done in 10 s


def test_an_error_leaves_no_done_line(monkeypatch):
    monkeypatch.delenv("EXSIM_PROGRESS", raising=False)
    out = io.StringIO()
    with pytest.raises(RuntimeError):
        with Progress("load", 10, stream=out) as p:
            p.update(3)
            raise RuntimeError("boom")
    assert out.getvalue().splitlines()[-1] == "load: stopped at 30.0%"


def test_the_mode_can_be_forced_and_off_is_silent(monkeypatch):
    assert mode_for(Terminal(), {"TERM": "xterm"}) == "bar"
    assert mode_for(Terminal(), {"TERM": "dumb"}) == "lines"
    assert mode_for(io.StringIO(), {"EXSIM_PROGRESS": "bar"}) == "bar"
    assert mode_for(Terminal(), {"EXSIM_PROGRESS": "lines"}) == "lines"
    for enabled, env in ((False, None), (True, "off")):
        if env:
            monkeypatch.setenv("EXSIM_PROGRESS", env)
        out = Terminal()
        with Progress("x", 10, stream=out, enabled=enabled) as p:
            p.update(10)
        assert out.getvalue() == ""


@pytest.mark.timeout(120)
def test_demo_data_prints_plain_progress_lines_when_not_on_a_terminal(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("EXSIM_PROGRESS", raising=False)
    db = str(tmp_path / "demo.duckdb")
    assert cli.main(["demo-data", "--db", db]) == 0
    err = capsys.readouterr().err
    assert "demo data: 50% (1/2 symbols" in err and "demo data: 100.0% done, 2 symbols in" in err and "\r" not in err
    assert cli.main(["demo-data", "--db", db, "--no-progress"]) == 0
    assert "demo data" not in capsys.readouterr().err
