"""The CLI scaffold every package uses: literal help, one-line errors, exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pydantic import Field
from typer.testing import CliRunner

from aiinfra_shared.cliapp import package_app, settings_from, validation_message
from aiinfra_shared.config import AiinfraSettings, settings_config
from aiinfra_shared.errors import AiinfraError

APP = textwrap.dedent(
    '''
    from pathlib import Path
    import typer
    from pydantic import BaseModel, Field
    from aiinfra_shared.cliapp import package_app, run_typer
    from aiinfra_shared.errors import AiinfraError

    app = package_app("Demo of [tool.aiinfra] and aiinfra-shared[kafka].")

    class Spec(BaseModel):
        epochs: int = Field(ge=1, le=100)

    @app.command()
    def go(n: int = 1, fail: str = "") -> None:
        """Run [bold] literally."""
        if fail == "user":
            raise AiinfraError("install it with: uv sync --extra kafka (aiinfra-shared[kafka])")
        if fail == "invalid":
            Spec(epochs=n)
        if fail == "missing":
            Path("/no/such/file.csv").read_text()
        if fail == "exit":
            raise typer.Exit(3)
        if fail == "bug":
            raise RuntimeError("a real bug")
        print("ok", n)

    @app.command()
    def other() -> None:
        """Another command."""

    main = run_typer(app)
    if __name__ == "__main__":
        main()
    '''
)


@pytest.fixture(scope="module")
def script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "demo_cli.py"
    path.write_text(APP)
    return path


def run(script: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:

    return subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "60", **env},
        check=False,
        timeout=60,
    )


def test_help_prints_brackets_literally(script: Path) -> None:
    result = run(script, "--help")
    assert result.returncode == 0
    assert "[tool.aiinfra]" in result.stdout
    assert "aiinfra-shared[kafka]" in result.stdout
    assert "[bold]" in run(script, "go", "--help").stdout


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (["go", "--fail", "user"], 1,
         "error: install it with: uv sync --extra kafka (aiinfra-shared[kafka])"),
        (["go", "--fail", "invalid", "--n", "1000"], 1,
         "error: invalid input: epochs=1000: Input should be less than or equal to 100"),
        (["go", "--fail", "missing"], 1, "error: No such file or directory: /no/such/file.csv"),
        (["go", "--n", "abc"], 2, "(see 'demo_cli.py go --help')"),
        (["nosuch"], 2, "No such command 'nosuch'"),
    ],
)  # fmt: skip
def test_user_mistakes_are_one_line_and_non_zero(
    script: Path, args: list[str], code: int, text: str
) -> None:
    result = run(script, *args)
    assert result.returncode == code
    assert result.stderr.count("\n") == 1, result.stderr  # one line, however long
    assert text in result.stderr
    assert "Traceback" not in result.stderr


def test_exit_codes_and_success(script: Path) -> None:
    assert run(script, "go", "--fail", "exit").returncode == 3
    ok = run(script, "go", "--n", "5")
    assert (ok.returncode, ok.stdout.strip()) == (0, "ok 5")
    no_args = run(script)
    assert no_args.returncode == 2
    assert "Commands" in no_args.stdout


def test_a_bug_keeps_its_traceback_and_debug_shows_user_errors_in_full(script: Path) -> None:
    bug = run(script, "go", "--fail", "bug")
    assert bug.returncode == 1
    assert "Traceback" in bug.stderr
    assert "RuntimeError: a real bug" in bug.stderr
    debug = run(script, "go", "--fail", "user", AIINFRA_DEBUG="1")
    assert "Traceback" in debug.stderr


class DemoSettings(AiinfraSettings):
    model_config = settings_config("DEMOAPP_")
    epochs: int = Field(default=3, ge=1, le=1000)
    name: str = "x"


class DemoError(AiinfraError):
    pass


def test_settings_from_drops_unset_options_and_names_bad_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEMOAPP_EPOCHS", "7")
    assert settings_from(DemoSettings, DemoError, epochs=None, name="y").epochs == 7
    assert settings_from(DemoSettings, DemoError, epochs=9).epochs == 9
    with pytest.raises(DemoError) as caught:
        settings_from(DemoSettings, DemoError, epochs=10**9)
    message = str(caught.value)
    assert message.startswith("invalid settings: epochs=1000000000: ")
    assert "less than or equal to 1000" in message
    assert "($DEMOAPP_EPOCHS)" in message
    assert "https://" not in message  # no pydantic error URL


def test_validation_message_joins_every_field() -> None:
    from pydantic import ValidationError

    try:
        DemoSettings(epochs=0, name=[1])  # type: ignore[arg-type]
    except ValidationError as exc:
        text = validation_message(exc)
    assert "epochs=0" in text
    assert "name: " in text
    assert text.count("; ") == 1


def test_package_app_runs_a_callback_of_the_package() -> None:
    seen: list[str] = []

    def options(home: str = "h") -> None:
        seen.append(home)

    app = package_app("t", callback=options)

    @app.command()
    def cmd() -> None:
        seen.append("cmd")

    result = CliRunner().invoke(app, ["--home", "x", "cmd"])
    assert result.exit_code == 0, result.output
    assert seen == ["x", "cmd"]


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_supervise_stops_the_whole_group_when_told_to_stop(tmp_path: Path, sig: str) -> None:
    """A supervisor killed by SIGTERM must not leave its children (and theirs) running."""
    import signal
    import time

    pids = tmp_path / "pids"
    child = (
        "import subprocess, sys, time, pathlib\n"
        "g = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'])\n"
        f"pathlib.Path({str(pids)!r}).write_text(str(g.pid))\n"
        "time.sleep(300)\n"
    )
    script = (
        "import sys\n"
        "from aiinfra_shared.cliapp import supervise\n"
        f"sys.exit(supervise([sys.executable, '-c', {child!r}], grace=5))\n"
    )
    supervisor = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 30
    while not pids.exists() or not pids.read_text():
        assert time.monotonic() < deadline, "the grandchild never started"
        time.sleep(0.05)
    grandchild = int(pids.read_text())
    supervisor.send_signal(getattr(signal, sig))
    assert supervisor.wait(timeout=20) == 128 + getattr(signal, sig)

    def running(pid: int) -> bool:  # a zombie (killed, not yet reaped by init) has stopped
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return False
        return state != "Z"

    for _ in range(100):
        if not running(grandchild):
            break
        time.sleep(0.05)
    else:
        raise AssertionError(f"grandchild {grandchild} still runs after {sig}")
