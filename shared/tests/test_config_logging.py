from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from aiinfra_shared.config import AiinfraSettings, settings_config
from aiinfra_shared.logging import configure


class DemoSettings(AiinfraSettings):
    model_config = settings_config("DEMO_")
    port: int = 8000
    name: str = "laptop"


def test_settings_read_prefixed_env_then_dotenv_then_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert DemoSettings().port == 8000
    (tmp_path / ".env").write_text("DEMO_PORT=9001\nDEMO_NAME=from-dotenv\n")
    assert DemoSettings().port == 9001
    monkeypatch.setenv("DEMO_PORT", "9002")
    settings = DemoSettings()
    assert (settings.port, settings.name) == (9002, "from-dotenv")


def test_invalid_env_value_is_a_validation_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_PORT", "eighty")
    with pytest.raises(ValueError, match="port"):
        DemoSettings()


def test_env_prefix_must_end_with_underscore() -> None:
    with pytest.raises(ValueError, match="must end with '_'"):
        settings_config("DEMO")


def test_json_logs_are_one_object_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    configure(level="INFO", fmt="json")
    logging.getLogger("demo").info("trained %s", "model", extra={"accuracy": 0.97})
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["message"] == "trained model"
    assert record["level"] == "INFO"
    assert record["accuracy"] == 0.97


def test_configure_twice_does_not_duplicate_output(capsys: pytest.CaptureFixture[str]) -> None:
    configure(fmt="json")
    configure(fmt="json")
    logging.getLogger("demo").warning("once")
    assert capsys.readouterr().err.count('"once"') == 1


def test_unknown_log_format_is_refused() -> None:
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        configure(fmt="xml")
