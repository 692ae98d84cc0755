"""The documentation site builds with every warning an error, and its Python examples run."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "docs").glob("guide/*.md")) + sorted((ROOT / "docs").glob("howto/*.md"))
CODE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def test_the_site_builds_strictly(tmp_path):
    for package in ("mkdocs", "material", "mkdocstrings_handlers.python", "mkdocs_jupyter"):
        pytest.importorskip(package, reason='the docs need their extra: pip install ".[docs]"')
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "index.html").is_file() and (tmp_path / "api" / "autograd" / "index.html").is_file()


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_the_python_examples_of_a_page_run_in_order(page, tmp_path):
    blocks = CODE.findall(page.read_text(encoding="utf-8"))
    if not blocks:
        pytest.skip(f"{page.name} has no Python example")
    script = tmp_path / "page.py"
    script.write_text("\n\n".join(blocks), encoding="utf-8")
    environment = {**os.environ, "MPLBACKEND": "Agg", "CHAINRULE_EXAMPLE_QUICK": "1"}
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=environment, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, f"{page.name}:\n{result.stderr[-3000:]}"
