"""The one CLI scaffold every package's ``cli.py`` starts from.

::

    from aiinfra_shared.cliapp import console, package_app, run_typer, settings_from

    app = package_app("101-07: serve a torch Iris classifier over FastAPI.")

    @app.command()
    def train(epochs: int | None = None) -> None:
        settings = settings_from(MlapiSettings, MlapiError, epochs=epochs)
        ...

    main = run_typer(app)          # [project.scripts] mlapi = "mlapi.cli:main"

What it settles once for every package:

- help text is printed literally (``rich_markup_mode=None``): ``[tool.aiinfra]`` or an extra
  such as ``aiinfra-shared[kafka]`` in a docstring is not eaten as Rich markup;
- every sub-command configures logging first (``LOG_LEVEL``, ``LOG_FORMAT=json``);
- a user mistake ends as ONE line on stderr and a non-zero exit, never a traceback:
  a package error (:class:`~aiinfra_shared.errors.AiinfraError`), a bad option (exit 2), an
  invalid setting (pydantic ``ValidationError``), a missing file; Ctrl+C exits 130.
  ``AIINFRA_DEBUG=1`` shows the traceback instead, for the developer.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any, NoReturn, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from aiinfra_shared.errors import AiinfraError
from aiinfra_shared.logging import configure

#: Standard output of every CLI (tables, reports). Rich resolves ``sys.stdout`` at print time,
#: so tests that capture stdout see it.
console = Console()
#: Standard error: warnings and the one-line errors.
err_console = Console(stderr=True, highlight=False)

S = TypeVar("S", bound=BaseModel)


def _exception_class(name: str) -> type[Exception]:
    """Click's ``UsageError`` (Typer vendors click; its classes are reached through the MRO of
    the public ``typer.BadParameter`` so no private module is imported)."""
    for cls in typer.BadParameter.__mro__:
        if cls.__name__ == name:
            return cls
    raise RuntimeError(f"typer.BadParameter has no base class {name}")  # pragma: no cover


UsageError = _exception_class("UsageError")


def package_app(
    help: str,
    *,
    callback: Callable[..., None] | None = None,
    **typer_options: Any,
) -> typer.Typer:
    """A Typer app with the house settings and a callback that configures logging.

    Args:
        help: The app's help text (shown by ``--help``), printed literally.
        callback: A callback of the package's own (global options such as ``--home``); it
            runs after logging is configured, with the options Typer parsed for it.
        **typer_options: Any other ``typer.Typer`` argument, overriding the house defaults.

    Returns:
        The app: add commands with ``@app.command()``, sub-apps with ``app.add_typer``.
    """
    options: dict[str, Any] = {
        "help": help,
        "no_args_is_help": True,
        "add_completion": False,
        "pretty_exceptions_enable": False,
        "rich_markup_mode": None,
    }
    options.update(typer_options)
    app = typer.Typer(**options)
    if callback is None:

        def _setup() -> None:
            """Configure logging once for every sub-command."""
            configure()

        app.callback()(_setup)
    else:

        @functools.wraps(callback)
        def _wrapped(*args: Any, **kwargs: Any) -> None:
            configure()
            callback(*args, **kwargs)

        app.callback()(_wrapped)
    return app


def sub_app(help: str, **typer_options: Any) -> typer.Typer:
    """A sub-command group (``app.add_typer(sub_app(...), name="backend")``), house settings."""
    options: dict[str, Any] = {
        "help": help,
        "no_args_is_help": True,
        "rich_markup_mode": None,
        "pretty_exceptions_enable": False,
    }
    options.update(typer_options)
    return typer.Typer(**options)


def validation_message(exc: ValidationError, env_prefix: str | None = None) -> str:
    """One line naming every invalid field, its value and the rule it broke.

    Args:
        exc: The pydantic error.
        env_prefix: The settings' environment prefix (``MLAPI_``), to name the variable a
            user may have set.

    Returns:
        ``epochs=1000000000: Input should be less than or equal to 10000 ($MLAPI_EPOCHS)``,
        several joined by ``; ``.
    """
    parts = []
    for error in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in error.get("loc", ()))
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        if not loc:  # a rule over several fields (a model validator): its message says it all
            parts.append(message)
            continue
        text = f"{loc}: {message}"
        if (
            "input" in error
            and error.get("type") != "missing"
            and not isinstance(error["input"], dict | list)
        ):
            text = f"{loc}={error['input']!r}: {message}"
        if env_prefix and error.get("loc"):
            text += f" (${env_prefix}{str(error['loc'][0]).upper()})"
        parts.append(text)
    return "; ".join(parts) or str(exc)


def settings_from(
    cls: type[S],
    error: type[AiinfraError] = AiinfraError,
    /,
    **overrides: Any,
) -> S:
    """Build a settings (or any pydantic) object from the options a user gave.

    Options left at ``None`` (not given on the command line) are dropped, so the environment
    and the defaults apply; an invalid value raises ``error`` with one line that names it.

    Args:
        cls: The settings class.
        error: The package's base error, raised with the one-line message.
        **overrides: Option values; ``None`` means "not given".

    Returns:
        The validated object.

    Raises:
        AiinfraError: ``error``, when a value is invalid.
    """
    values = {key: value for key, value in overrides.items() if value is not None}
    try:
        return cls(**values)
    except ValidationError as exc:
        config: Mapping[str, Any] = getattr(cls, "model_config", {})
        prefix = config.get("env_prefix") or None
        raise error(f"invalid settings: {validation_message(exc, prefix)}") from None


def progress_bar(
    label: str = "{task.description}", *fields: str, transient: bool = True
) -> Progress:
    """The house progress bar: a label, the bar, done/total, elapsed time, extra fields.

    Args:
        label: The text before the bar (a Rich column template such as
            ``"{task.description}"``).
        *fields: More column templates, e.g. ``"loss {task.fields[loss]:.3f}"``.
        transient: Remove the bar when done (the result is printed after it).

    Returns:
        A ``rich.progress.Progress`` on the shared console; use it as a context manager.
    """
    columns = [
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        *(TextColumn(field) for field in fields),
    ]
    return Progress(*columns, console=console, transient=transient)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``error: <message>`` on stderr (markup-safe) and exit with ``code``."""
    # soft_wrap: one line however long, never folded at the terminal's width
    err_console.print(f"[red]error:[/] {escape(message)}", soft_wrap=True)
    sys.exit(code)


_FILE_ERRORS = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)


class Terminated(SystemExit):
    """SIGTERM, raised in the main thread: ``finally`` blocks and context managers run (an
    MLflow run ends FAILED instead of staying RUNNING, a temp folder is removed)."""


def _terminate_cleanly() -> None:
    """SIGTERM becomes :class:`Terminated` (exit 143) unless something else handles it."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def _raise(signum: int, _frame: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM kills at once
        print("error: terminated (SIGTERM)", file=sys.stderr)
        raise Terminated(128 + signum)

    signal.signal(signal.SIGTERM, _raise)


def run_typer(app: typer.Typer) -> Callable[[], None]:
    """Wrap a Typer app for ``[project.scripts]``: user mistakes become one line.

    Example:
        ``main = run_typer(app)`` in ``cli.py``, and ``mlapi = "mlapi.cli:main"``.

    Returns:
        A function that runs ``app``. Exit codes: 0 success, 1 a user error (package error,
        invalid setting, missing file), 2 a bad command line, 130 Ctrl+C, 143 SIGTERM (after
        the command's cleanup ran: it arrives as :class:`Terminated`); a command's own
        ``typer.Exit(code)`` keeps its code. A bug (any other exception) still shows its
        traceback.
    """

    def main() -> None:
        debug = os.environ.get("AIINFRA_DEBUG", "").lower() in {"1", "true", "yes"}
        _terminate_cleanly()
        try:
            result = app(standalone_mode=False)
        except UsageError as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":
                # `prog` alone: the help text, as a user expects, on stdout.
                typer.echo(exc.format_message())  # type: ignore[attr-defined]
                sys.exit(int(getattr(exc, "exit_code", 2)))
            ctx = getattr(exc, "ctx", None)
            where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
            fail(f"{exc.format_message()}{where}", code=2)  # type: ignore[attr-defined]
        except typer.Abort:
            fail("aborted", code=1)
        except KeyboardInterrupt:
            fail("interrupted", code=130)
        except BrokenPipeError:
            # `prog ... | head`: the reader left; nothing to report.
            sys.stderr.close()
            sys.exit(141)
        except AiinfraError as exc:
            if debug:
                raise
            fail(str(exc))
        except ValidationError as exc:
            if debug:
                raise
            fail(f"invalid input: {validation_message(exc)}")
        except _FILE_ERRORS as exc:
            if debug:
                raise
            name = f": {exc.filename}" if getattr(exc, "filename", None) else ""
            fail(f"{exc.strerror or type(exc).__name__}{name}")
        if isinstance(result, int) and not isinstance(result, bool):
            sys.exit(result)

    return main


def supervise(cmd: list[str], *, env: Mapping[str, str] | None = None, grace: float = 30.0) -> int:
    """Run ``cmd`` in its own process group until it exits, or until this process gets
    SIGTERM, SIGINT or SIGHUP: then the whole group gets SIGTERM, and SIGKILL after ``grace``
    seconds. A supervisor that dies on SIGTERM alone would leave its children running.

    Returns:
        The child's exit code (negative for a signal, as :mod:`subprocess` reports it);
        128 + the signal number when this process was told to stop.
    """
    import signal
    import subprocess

    received: list[int] = []

    def _stop(signum: int, _frame: Any) -> None:
        received.append(signum)
        raise KeyboardInterrupt

    previous = {s: signal.signal(s, _stop) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    proc = None
    try:
        proc = subprocess.Popen(cmd, env=dict(env) if env is not None else None,
                                start_new_session=True)  # fmt: skip
        return proc.wait()
    except KeyboardInterrupt:
        return 128 + (received[0] if received else signal.SIGINT)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if proc is not None and proc.poll() is None:
            _stop_group(proc, grace)


def _stop_group(proc: Any, grace: float) -> None:
    import signal
    import subprocess

    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass
