"""The README cannot rot: every Python block runs on its own against a fresh server, twice
(blocks say they can run again), and every link and repository path it names exists."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
DEFAULT_URI = "http://127.0.0.1:19530"

PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", README, re.DOTALL)


def test_the_readme_has_python_blocks():
    assert len(PYTHON_BLOCKS) >= 3


@pytest.mark.parametrize("number", range(len(PYTHON_BLOCKS)))
def test_python_block_runs_alone_and_again(make_server, tmp_path, number):
    block = PYTHON_BLOCKS[number]
    assert DEFAULT_URI in block, "every block connects to the default address"
    server = make_server()
    script = tmp_path / f"block{number}.py"
    script.write_text(block.replace(DEFAULT_URI, server.uri))
    for run in ("first", "second"):
        done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=180, cwd=tmp_path)
        assert done.returncode == 0, f"block {number}, {run} run:\n{block}\n--- stderr ---\n{done.stderr}"
        assert "Traceback" not in done.stderr, done.stderr


def test_links_and_paths_resolve_inside_the_repository():
    headings = {
        re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-")
        for h in re.findall(r"^#+ (.*)$", README, re.MULTILINE)
    }
    for target in re.findall(r"\]\(([^)]+)\)", README):
        if target.startswith(("http://", "https://")):
            continue
        if target.startswith("#"):
            assert target[1:] in headings, f"no heading for link {target}"
        else:
            assert (ROOT / target).exists(), f"link to a missing file: {target}"
    for path in re.findall(r"`((?:docs|bench|scripts|crates|tests)/[^`<>* ]+)`", README):
        path = path.rstrip(".,:;")
        assert (ROOT / path).exists(), f"the README names {path}, which is not in the repository"
    assert "../" not in re.sub(r"```.*?```", "", README, flags=re.DOTALL), "the README points outside the repository"
