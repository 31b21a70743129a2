"""pyproject.toml (with its dev extra) and environment.yml declare the same environment, with torch pinned to the CPU wheel."""

import re
import tomllib

from conftest import REPO


def _pyproject_dependencies(extras: tuple[str, ...] = ()) -> set[str]:
    with open(REPO / "pyproject.toml", "rb") as f:
        project = tomllib.load(f)["project"]
    listed = project["dependencies"] + [d for extra in extras for d in project["optional-dependencies"][extra]]
    return {d.replace(" ", "") for d in listed}


def _environment_pip_dependencies() -> set[str]:
    text = (REPO / "environment.yml").read_text()
    pip_block = text.split("- pip:", 1)[1]
    entries = re.findall(r"^\s+-\s+(\S.*)$", pip_block, flags=re.M)
    return {e.replace(" ", "") for e in entries if not e.startswith("-e")}


def test_environment_yml_matches_pyproject():
    assert _environment_pip_dependencies() == _pyproject_dependencies(extras=("dev",))


def test_torch_is_pinned_to_the_local_cpu_wheel():
    assert "torch==2.13.0" in _pyproject_dependencies()
    makefile = (REPO / "Makefile").read_text()
    assert "torch==2.13.0" in makefile


def test_ci_runs_exactly_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text()
    commands = [line for line in ci.splitlines() if line.strip() and not line.startswith("#")]
    assert commands[-1].strip() == "make test"
    assert "make test" in (REPO / "README.md").read_text()
