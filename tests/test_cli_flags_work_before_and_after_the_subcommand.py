"""A server flag means the same before the subcommand (`exsim --port 9113 serve`) as after it
(`exsim serve --port 9113`); a subcommand's unset flag must not undo one given before it."""
import pytest

from exsim import cli, config

SUBCOMMANDS = (["serve"], ["config", "show"])


@pytest.fixture
def clean_env(tmp_path, monkeypatch):
    """No ENV layer and no ./exsim.toml: only the flags under test decide."""
    for name in list(config.ENV_NAMES.values()) + ["EXSIM_CONFIG"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def orders(sub: list[str], flags: list[str]) -> dict[str, list[str]]:
    return {"before": flags + sub, "after": sub + flags,
            # `config --port 9113 show`: between the two words of the subcommand
            **({"between": sub[:1] + flags + sub[1:]} if len(sub) == 2 else {})}


@pytest.mark.parametrize("order", ["before", "after", "between"])
def test_config_show_sees_port_and_config_file_wherever_they_are_given(clean_env, capsys, order):
    toml = clean_env / "mine.toml"
    toml.write_text('symbol = "ETHUSDT"\n')
    argv = orders(["config", "show"], ["--port", "9113", "--config", str(toml)])[order]
    assert cli.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "port = 9113  # flag --port" in lines
    assert f'symbol = "ETHUSDT"  # file {toml}' in lines


def parsed(argv: list[str]) -> dict:
    """The server flags argparse kept, by flag."""
    ns = cli.build_parser().parse_args(argv)
    return {**cli._flags(ns), **({"--config": ns.config} if ns.config is not None else {})}


@pytest.mark.parametrize("sub", SUBCOMMANDS, ids=" ".join)
def test_every_server_flag_is_parsed_the_same_before_and_after_the_subcommand(sub):
    for flag in ["--config", *config.FLAG_NAMES]:
        given, kept = ([flag], True) if flag in config.SWITCHES else ([flag, "x"], "x")
        for order, argv in orders(sub, given).items():
            assert parsed(argv) == {flag: kept}, (order, flag)


@pytest.mark.parametrize("sub", SUBCOMMANDS, ids=" ".join)
def test_flags_before_the_subcommand_reach_the_config(clean_env, sub):
    values = {"--host": "127.0.0.2", "--port": "9113", "--duckdb-path": "x.duckdb", "--symbol": "ETHUSDT",
              "--interval": "1h", "--start": "2024-01-02", "--end": "2024-02-01", "--speed": "3",
              "--maker-bps": "0.5", "--taker-bps": "4", "--slippage-bps": "1", "--starting-balance": "500",
              "--ticks-per-bar": "2", "--on-end": "loop", "--auth": "off", "--access-log": None}
    flags = [part for flag, value in values.items() for part in (flag, value) if part is not None]
    for order, argv in orders(sub, flags).items():
        loaded = cli.load_config(cli.build_parser().parse_args(argv))
        for flag in values:
            assert loaded.sources[config.FLAG_NAMES[flag]] == f"flag {flag}", (order, flag)
        assert loaded.config.port == 9113 and loaded.config.symbol == "ETHUSDT", order
        assert loaded.config.access_log is True, order


def test_a_flag_after_the_subcommand_wins_over_the_same_flag_before_it(clean_env):
    ns = cli.build_parser().parse_args(["--port", "9113", "serve", "--port", "9114"])
    assert cli.load_config(ns).config.port == 9114


def test_no_subcommand_still_serves_with_the_flags(clean_env):
    ns = cli.build_parser().parse_args(["--port", "9113"])
    assert ns.cmd is None and cli.load_config(ns).config.port == 9113
