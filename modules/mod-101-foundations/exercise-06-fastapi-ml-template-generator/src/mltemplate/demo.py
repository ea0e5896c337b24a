"""``mltemplate demo``: generate, install in a fresh venv, run the project's own tests, serve
it with uvicorn and call it, then show what an update of the template does to an edit."""

from __future__ import annotations

import shutil
import tempfile
from contextlib import ExitStack
from pathlib import Path

import httpx
from rich.console import Console
from rich.markup import escape

from mltemplate import generator, verify
from mltemplate.display import file_tree


def run_demo(console: Console, workdir: Path | None, template: str, root: Path) -> None:
    with ExitStack() as outer:
        base = workdir or Path(outer.enter_context(tempfile.TemporaryDirectory(prefix="mlt-")))
        stack = outer.enter_context(ExitStack())  # the server: stopped before step 4
        chosen = generator.get_template(template, root)
        options = generator.resolve_options(chosen, {"tracing": True})
        project = base / "fraud-scorer"
        console.rule(f"1. mltemplate new --template {template} --name fraud-scorer")
        files = generator.new(chosen, "fraud-scorer", options, project, force=True)
        console.print(file_tree(project.name, sorted(files)))

        console.rule(escape("2. a fresh venv, pip install -e '.[test]', the project's own tests"))
        with console.status("installing (uv)"):
            python = verify.install(project)
        with console.status("pytest"):
            console.print(f"pytest: {verify.run_tests(project, python)}")

        console.rule("3. uvicorn on a free port, called over HTTP")
        path, body = verify.example_request(template)
        with console.status("starting uvicorn"):
            service = stack.enter_context(verify.serve(project, python))
        headers = {"X-API-Key": verify.API_KEY}
        refused = httpx.post(f"{service.url}{path}", json=body, timeout=30)
        answer = httpx.post(f"{service.url}{path}", json=body, headers=headers, timeout=30)
        console.print(f"POST {path} without a key: {refused.status_code}")
        console.print(f"POST {path} with a key: {answer.status_code} {escape(answer.text)}")
        metrics = httpx.get(f"{service.url}/metrics", timeout=30).text
        console.print("\n".join(line for line in metrics.splitlines()
                                if line.startswith("fraud_scorer_predictions_total")))  # fmt: skip
        stack.close()  # stop the server before the project changes under it

        console.rule("4. you edit the project; the template gets a new version; update")
        readme = project / "README.md"
        readme.write_text(readme.read_text() + "\n## Our notes\n\nOwned by the fraud team.\n")
        newer = base / "templates-v2"
        shutil.copytree(root, newer, dirs_exist_ok=True)
        common = newer / "_common" / "README.md.j2"
        common.write_text(common.read_text().replace(
            "## Run it", "## Run it\n\nSupported on Python 3.11 and later.", 1))  # fmt: skip
        meta = newer / template / "template.toml"
        meta.write_text(meta.read_text().replace(f'version = "{chosen.version}"',
                                                 'version = "1.1.0"'))  # fmt: skip
        report = generator.update(project, newer)
        console.print(f"{report.old_version} -> {report.new_version}: merged {report.merged}, "
                      f"updated {report.updated}, conflicts {report.conflicts}")  # fmt: skip
        text = readme.read_text()
        kept, added = "Owned by the fraud team." in text, "Supported on Python 3.11" in text
        console.print(f"README keeps your notes: {kept}; has the template's new line: {added}")
        if workdir is None:
            console.print("the project was in a temporary folder, removed now; --workdir keeps it")
        else:
            console.print(f"project in {escape(str(project))}")
