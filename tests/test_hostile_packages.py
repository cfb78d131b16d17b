"""Hostile packages (tests/hostile_packages.py) are refused before anything is paid for, each with one line.

The small bombs run here under small limits; the gigabyte ones, against the default limits, are in
`benchmarks/hostile.py`.
"""

from __future__ import annotations

import os
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.fake_llm_server import FakeLLMServer
from tests.hostile_packages import MIB, base, cases, limits_env
from tests.test_cli import CLI
from translation_pipeline.localization.read.limits import PackageLimits
from translation_pipeline.localization.read.workbook import WorkbookError, check_package, read_workbook

SCALE = 3  # MiB
CASES = cases(SCALE)
LIMITS = PackageLimits.from_megabytes(
    *(int(limits_env(SCALE)[var]) for var in ("TRANSLATION_MAX_PART_MB", "TRANSLATION_MAX_PACKAGE_MB")), 200
)


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    for case, (build, _) in CASES.items():
        build(folder / f"{case} 对话.xlsx")
    return folder


def test_the_base_workbook_is_valid_under_the_small_limits(tmp_path: Path) -> None:
    base(tmp_path / "base.xlsx")
    assert check_package(tmp_path / "base.xlsx", LIMITS) is None
    assert len(read_workbook(tmp_path / "base.xlsx", limits=LIMITS).cells) == 3


@pytest.mark.parametrize("case", sorted(CASES))
def test_reading_refuses_with_the_one_expected_line(hostile_dir: Path, case: str) -> None:
    path = hostile_dir / f"{case} 对话.xlsx"
    with pytest.raises(WorkbookError) as raised:
        read_workbook(path, limits=LIMITS)
    assert str(raised.value).startswith(f"{path.name}: {CASES[case][1]}")
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("case", sorted(c for c in CASES if not c.startswith(("lying", "undeclared"))))
def test_the_cheap_check_refuses_all_but_what_only_unpacking_shows(hostile_dir: Path, case: str) -> None:
    """The sensor's check (directory and part starts) finds every case except a size the directory lies
    about and a broken reference inside a part: those the reading finds, still before any request."""
    assert (check_package(hostile_dir / f"{case} 对话.xlsx", LIMITS) or "").startswith(CASES[case][1])


def test_a_lying_directory_reads_no_more_than_it_claims(hostile_dir: Path) -> None:
    """zipfile stops at the size the directory gives and fails the CRC check: the 3 MiB behind the
    claimed 1,000 bytes are never unpacked."""
    with zipfile.ZipFile(hostile_dir / "lying_directory 对话.xlsx") as package:
        assert package.getinfo("xl/media/pad.bin").file_size == 1000
        stream = package.open("xl/media/pad.bin")
        with pytest.raises(zipfile.BadZipFile, match="Bad CRC-32"):
            while True:
                assert len(stream.read(MIB)) <= 1000
    assert check_package(hostile_dir / "lying_directory 对话.xlsx", LIMITS) is None  # the directory is in limits


def test_the_defaults_accept_what_the_small_limits_refuse(hostile_dir: Path) -> None:
    for case in ("bomb_by_part", "bomb_in_total"):
        assert check_package(hostile_dir / f"{case} 对话.xlsx") is None


def test_every_hostile_file_is_refused_with_no_request_sent(hostile_dir: Path, tmp_path: Path) -> None:
    """Through the real CLI and the real OpenAI SDK: one `error:` line per hostile file, zero requests to the
    model server for them, and the good workbook in the same command is translated."""
    good = tmp_path / "good.xlsx"
    base(good)
    files = sorted(hostile_dir.glob("*.xlsx"))
    data, home = tmp_path / "data", tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with FakeLLMServer() as server:
        env = {
            **os.environ, **limits_env(SCALE), "TRANSLATION_DATA_DIR": str(data), "DAGSTER_HOME": str(home),
            "TRANSLATION_PROVIDER": "openai", "OPENAI_BASE_URL": server.base_url_openai, "OPENAI_API_KEY": "test",
        }  # fmt: skip
        env.pop("TRANSLATION_CONFIG", None)
        done = subprocess.run([CLI, "translate", *map(str, files), str(good)], capture_output=True, text=True,
                              env=env, timeout=600, check=False)  # fmt: skip
        requests = server.request_count
    assert done.returncode == 1, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == len(files), done.stderr
    for path, line in zip(files, errors, strict=True):
        case = path.name.removesuffix(" 对话.xlsx")
        assert line.startswith(f"error: {path}: "), line
        assert CASES[case][1] in line, line
    assert "Traceback" not in done.stderr
    assert requests == 1  # the good workbook's one batch (3 strings, English), nothing for the hostile ones
    assert len(list((data / "outbox").rglob("*.translated.xlsx"))) == 1
