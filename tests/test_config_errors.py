"""Bad configuration stops with exit code 2 and one line naming the key, source and expectation."""
import subprocess
import sys

import pytest

from exsim import config


def error_of(tmp_path, toml: str = "", env: dict | None = None, flags: dict | None = None) -> str:
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    with pytest.raises(config.ConfigError) as err:
        config.load(str(path), env=env or {}, flags=flags)
    return str(err.value)


@pytest.mark.parametrize("toml, env, flags, expect", [
    ("colour = 'red'\n", {}, None, ["colour", "file", "unknown key"]),
    ("port = 'abc'\n", {}, None, ["port", "file", "int"]),
    ("", {"PORT": "eighty"}, None, ["port", "env PORT", "int"]),
    ("", {}, {"--speed": "fast"}, ["speed", "flag --speed"]),
    ("", {"START": "2024-05-01", "END": "2024-04-01"}, None, ["start", "env START", "before end"]),
    ("", {"FEE_MAKER_BPS": "-1"}, None, ["maker_bps", "env FEE_MAKER_BPS", ">= 0"]),
    ("taker_bps = -0.5\n", {}, None, ["taker_bps", "file", ">= 0"]),
    ("", {}, {"--interval": "7m"}, ["interval", "flag --interval", "1m"]),
    ("", {"START": "yesterday"}, None, ["start", "env START", "date"]),
    ("", {}, {"--port": "70000"}, ["port", "flag --port"]),
    ("[ws]\nmax_streams = 'x'\n", {}, None, ["ws", "int"]),
])
def test_bad_values_name_key_source_and_expectation(tmp_path, toml, env, flags, expect):
    message = error_of(tmp_path, toml, env, flags)
    assert "\n" not in message
    for part in expect:
        assert part in message, (part, message)


def test_not_toml_is_reported(tmp_path):
    assert "not valid TOML" in error_of(tmp_path, "port = = 3\n")


def test_cli_exits_2_with_one_line_and_no_traceback(tmp_path):
    out = subprocess.run([sys.executable, "-m", "exsim", "--interval", "2x", "--duckdb-path", str(tmp_path / "d.duckdb")],
                         capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "interval" in out.stderr and "Traceback" not in out.stderr
