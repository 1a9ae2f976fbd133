"""kfx._subcommands: the launchers' shared command line, parsed and run for real."""

from __future__ import annotations

import argparse
import sys

import pytest

from kfx._subcommands import add_launcher_parser, launcher_handler, module_main
from kfx.distribute import cli as train_cli
from kfx.distribute import launcher as train_launcher
from kfx.tuning import cli as tune_cli
from kfx.tuning import launcher as tune_launcher


def _parser(*adders) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kfx")
    sub = parser.add_subparsers(dest="subcommand")
    for add in adders:
        add(sub)
    return parser


def test_add_launcher_parser_registers_the_launcher():
    made = []
    parser = _parser(
        lambda sub: made.append(
            add_launcher_parser(sub, "train", train_launcher, help="h", description="d", epilog="e")
        )
    )
    args = parser.parse_args(["train", "--workers", "2", "--timeout", "5", "--", "python", "t.py"])
    assert (args.workers, args.timeout, args.command) == (2, 5.0, ["--", "python", "t.py"])
    assert args.func is train_launcher.run
    assert (made[0].prog, made[0].description, made[0].epilog) == ("kfx train", "d", "e")


def test_both_cli_modules_register_their_launcher():
    parser = _parser(tune_cli.add_parser, train_cli.add_parser)
    tune = parser.parse_args(["tune", "--workers", "1", "--max-restarts", "0", "--", "x"])
    train = parser.parse_args(["train", "--workers", "1", "--", "x"])
    assert tune.func is tune_launcher.run and tune.max_restarts == 0
    assert train.func is train_launcher.run and not hasattr(train, "max_restarts")
    assert tune.log_dir == tune_launcher.DEFAULT_LOG_DIR
    assert train.log_dir == train_launcher.DEFAULT_LOG_DIR


def _handler(status: int = 7):
    """A handler that records the commands it is given and returns `status`."""
    given = []

    @launcher_handler("kfx x", "kfx x -- python t.py")
    def run(args, command):
        given.append(command)
        return status

    return run, given


def test_launcher_handler_strips_the_separator_and_returns_the_status():
    run, given = _handler(7)
    assert run(argparse.Namespace(command=["--", "python", "t.py"])) == 7
    assert run(argparse.Namespace(command=["python", "u.py"])) == 7
    assert given == [["python", "t.py"], ["python", "u.py"]]


def test_launcher_handler_answers_2_without_a_command(capsys):
    run, given = _handler()
    assert run(argparse.Namespace(command=["--"])) == 2
    assert given == []
    assert capsys.readouterr().err == (
        "kfx x: give the script to run after --, e.g. kfx x -- python t.py\n"
    )


def test_launcher_handler_answers_2_for_a_rejected_argument(capsys):
    args = argparse.Namespace(command=["--", sys.executable], workers=0, host="127.0.0.1")
    args.log_dir, args.timeout = "unused", None
    assert train_launcher.run(args) == 2
    assert capsys.readouterr().err == (
        "kfx train: launch: argument `n_workers` got 0; expected an int >= 1.\n"
    )


def test_module_main_parses_its_arguments():
    def add(parser):
        parser.add_argument("--n", type=int)
        return parser

    assert module_main("prog", "what it does", add, lambda args: args.n + 1, ["--n", "4"]) == 5
    with pytest.raises(SystemExit):
        module_main("prog", "what it does", add, lambda args: 0, ["--bad"])
