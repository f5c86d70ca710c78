"""Settings come from the environment only, and bad values name their variable."""

from __future__ import annotations

import pytest

from oneapi.config import ConfigError, load_settings


def test_defaults_follow_one_api(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.delenv("SQLITE_PATH")
    settings = load_settings()
    assert (settings.port, settings.sql_dsn, settings.sqlite_path) == (3000, "", "./data/one-api.db")
    assert (settings.sqlite_busy_timeout, settings.sql_max_open_conns, settings.sql_max_idle_conns) == (3000, 1000, 100)
    assert settings.theme == "default" and settings.relay_timeout == 0


def test_values_are_typed(clean_env: pytest.MonkeyPatch) -> None:
    for name, value in {"PORT": "7860", "DEBUG": "true", "RELAY_TIMEOUT": "12.5", "THEME": "Berry",
                        "BATCH_UPDATE_INTERVAL": "0.5", "SQL_DSN": "postgres://u:p@h/d"}.items():
        clean_env.setenv(name, value)
    settings = load_settings()
    assert (settings.port, settings.debug, settings.relay_timeout, settings.theme) == (7860, True, 12.5, "berry")
    assert settings.batch_update_interval == 0.5 and settings.sql_dsn == "postgres://u:p@h/d"


@pytest.mark.parametrize(("name", "value"), [("PORT", "abc"), ("PORT", "70000"), ("SYNC_FREQUENCY", "-1"),
                                             ("DEBUG", "maybe")])
def test_bad_values_name_the_variable(clean_env: pytest.MonkeyPatch, name: str, value: str) -> None:
    clean_env.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert f"{name}={value!r}" in str(info.value)


def test_secret_values_are_not_echoed(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("SQL_MAX_OPEN_CONNS", "x")
    clean_env.setenv("SESSION_SECRET", "s3cret")
    clean_env.setenv("METRICS_TOKEN", "")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "s3cret" not in str(info.value)


def test_unknown_theme_falls_back_with_a_warning(clean_env: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    clean_env.setenv("THEME", "neon")
    assert load_settings().theme == "default"
    assert "neon" in caplog.text


def test_the_journal_lives_next_to_sqlite_unless_journal_dir_or_lambda_says_otherwise(
        clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("SQLITE_PATH", "/data/one-api.db")
    assert load_settings().journal_directory == "/data"
    clean_env.setenv("AWS_LAMBDA_FUNCTION_NAME", "gateway")
    assert load_settings().journal_directory == "/tmp/one-api-journal"
    clean_env.setenv("JOURNAL_DIR", "/var/lib/one-api/journal")
    assert load_settings().journal_directory == "/var/lib/one-api/journal"
