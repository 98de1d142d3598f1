"""The CLI: exit codes, one-line errors, config from TOML and environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


def sp(*args: str, env: dict[str, str] | None = None, tmp: Path | None = None) -> subprocess.CompletedProcess[str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("SKYPATROL_")}
    if tmp is not None:
        e["SKYPATROL_DATA_DIR"] = str(tmp)
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "skypatrol", *args], capture_output=True, text=True,
                          env=e, cwd=ROOT, timeout=60)


def one_line_error(r: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, r.stderr
    return lines[0]


def test_help_for_every_command(tmp_path: Path) -> None:
    for args in (["--help"], ["serve", "--help"], ["run", "--help"], ["token", "create", "--help"],
                 ["events", "tail", "--help"], ["db", "upgrade", "--help"]):
        r = sp(*args, tmp=tmp_path)
        assert r.returncode == 0 and "Usage" in r.stdout, (args, r.stderr)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["token", "create", "--name", "x", "--role", "superuser"], "unknown role"),
        (["token", "create", "--nme", "x"], "No such option"),
        (["token", "create", "--name", "x", "--expires-in-days", "soon"], "expires-in-days"),
        (["token", "revoke", "nope"], "not found"),
        (["serve", "--port", "99999"], "--port"),
        (["nosuchcommand"], "nosuchcommand"),
        (["events", "tail"], "no token"),
        (["--config", "/nonexistent.toml", "db", "upgrade"], "config file not found"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path: Path, args: list[str], needle: str) -> None:
    r = sp(*args, tmp=tmp_path)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert needle in one_line_error(r)


def test_token_create_then_list_and_revoke(tmp_path: Path) -> None:
    r = sp("token", "create", "--name", "edge-1", "--role", "pilot", "--json", tmp=tmp_path)
    assert r.returncode == 0, r.stderr
    tok = json.loads(r.stdout)
    assert tok["token"].startswith("sp_") and tok["role"] == "pilot"
    listed = sp("token", "list", tmp=tmp_path).stdout
    assert tok["id"] in listed and "active" in listed and tok["token"] not in listed
    assert sp("token", "revoke", tok["id"], tmp=tmp_path).returncode == 0
    assert "revoked" in sp("token", "list", tmp=tmp_path).stdout
    assert (tmp_path / "skypatrol.db").exists()


def test_db_upgrade_on_postgres(pg_url: str, tmp_path: Path) -> None:
    r = sp("db", "upgrade", env={"SKYPATROL_DATABASE_URL": pg_url}, tmp=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "revision 0001_spine" in r.stdout or "revision 0" in r.stdout


def test_config_file_and_environment(tmp_path: Path) -> None:
    db = tmp_path / "from-toml.db"
    cfg = tmp_path / "skypatrol.toml"
    cfg.write_text(f'database_url = "sqlite:///{db}"\nport = 8123\n[mqtt]\nport = 1999\n')
    r = sp("--config", str(cfg), "db", "upgrade", tmp=tmp_path)
    assert r.returncode == 0, r.stderr
    assert db.exists()

    from core.settings import load_settings

    old = dict(os.environ)
    try:
        os.environ["SKYPATROL_CONFIG"] = str(cfg)
        os.environ["SKYPATROL_PORT"] = "9000"  # the environment wins over the file
        s = load_settings()
        assert (s.port, s.mqtt.port, s.database_url) == (9000, 1999, f"sqlite:///{db}")
    finally:
        os.environ.clear()
        os.environ.update(old)

    cfg.write_text("port = [nonsense\n")
    r = sp("--config", str(cfg), "db", "upgrade", tmp=tmp_path)
    assert r.returncode == 2 and "config" in one_line_error(r)
    cfg.write_text('port = "high"\n')
    r = sp("--config", str(cfg), "db", "upgrade", tmp=tmp_path)
    assert r.returncode == 2 and "port" in one_line_error(r)
    cfg.write_text('colour = "blue"\n')
    r = sp("--config", str(cfg), "db", "upgrade", tmp=tmp_path)
    assert r.returncode == 2 and "colour" in one_line_error(r)
