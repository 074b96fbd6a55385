"""Settings: every DAIPIN_* variable typed, documented and checked at start; no module reads the environment for a
setting itself."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from daipin import config

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    import os

    for key in list(os.environ):
        if key.startswith(config.PREFIX):
            monkeypatch.delenv(key)
    return monkeypatch


def test_defaults_when_nothing_is_set(clean_env: pytest.MonkeyPatch) -> None:
    s = config.settings()
    assert s.database_url == "sqlite:///var/daipin.db" and s.county == "231002" and s.db_pool == 10
    assert s.cookie_secure is False and s.secret_key is None and s.log_format == "json"


def test_values_are_read_typed_and_read_again_when_the_environment_changes(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("DAIPIN_COOKIE_SECURE", "true")
    clean_env.setenv("DAIPIN_DB_POOL", "25")
    assert config.settings().cookie_secure is True and config.settings().db_pool == 25
    clean_env.setenv("DAIPIN_DB_POOL", "")  # empty means the default
    assert config.settings().db_pool == 10


@pytest.mark.parametrize(("variable", "value", "reason"), [
    ("DAIPIN_CONCURRENCY", "many", "整数"),
    ("DAIPIN_DB_POOL", "0", "太小"),
    ("DAIPIN_COUNTY", "23100", "格式"),
    ("DAIPIN_COOKIE_SECURE", "maybe", "true 或 false"),
    ("DAIPIN_BASE_URL", "ftp://portal", "格式"),
    ("DAIPIN_LOG_LEVEL", "LOUD", "可选"),
])
def test_a_bad_value_is_refused_naming_its_variable(clean_env: pytest.MonkeyPatch, variable: str, value: str,
                                                    reason: str) -> None:
    clean_env.setenv(variable, value)
    with pytest.raises(config.SettingError) as err:
        config.settings()
    assert err.value.variable == variable and reason in err.value.message_zh and value in str(err.value)


def test_a_bad_value_stops_a_command_at_start_with_the_variable_named(tmp_path: Path) -> None:
    import os

    env = {**os.environ, "DAIPIN_DB_POOL": "lots", "DAIPIN_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    r = subprocess.run([sys.executable, "-m", "daipin", "ledger", "verify"], env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 2 and "DAIPIN_DB_POOL" in r.stderr and "Traceback" not in r.stderr


def test_config_show_prints_every_setting_and_hides_secrets(tmp_path: Path) -> None:
    import os

    env = {**os.environ, "DAIPIN_SECRET_KEY": "s3cret-value",
           "DAIPIN_DATABASE_URL": "postgresql://daipin:pa55word@db.example/daipin"}
    r = subprocess.run([sys.executable, "-m", "daipin", "config", "show"], env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert "s3cret-value" not in r.stdout and "pa55word" not in r.stdout
    assert "postgresql://daipin:***@db.example/daipin" in r.stdout
    for name in config.Settings.model_fields:
        assert f"DAIPIN_{name.upper()}" in r.stdout


def test_version() -> None:
    r = subprocess.run([sys.executable, "-m", "daipin", "--version"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and re.fullmatch(r"daipin \d+\.\d+\.\d+\S*\n", r.stdout)


def test_the_operations_guide_documents_every_variable_with_its_default() -> None:
    page = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    for name, field in config.Settings.model_fields.items():
        row = next((line for line in page.splitlines() if line.startswith(f"| `DAIPIN_{name.upper()}` |")), None)
        assert row is not None, f"DAIPIN_{name.upper()} is not in docs/operations.md"
        if field.default not in (None, "", False):
            assert str(field.default) in row


def test_no_module_reads_a_setting_from_the_environment_itself() -> None:
    readers = re.compile(r"os\.environ\.get\(|os\.getenv\(|os\.environ\[[^\]]+\](?!\s*=)")
    found = []
    for path in (ROOT / "src" / "daipin").rglob("*.py"):
        if path.name == "config.py" and path.parent.name == "daipin":
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if readers.search(line) and "PROMETHEUS_MULTIPROC_DIR" not in line:
                found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert found == []
