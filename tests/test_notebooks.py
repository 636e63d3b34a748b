"""The tutorial notebooks: stored without outputs, and each runs top to bottom at small n.

Each notebook reads ``PKSIM_NOTEBOOK_SUBJECTS`` for its cohort size (default: the realistic
size) and ``PKSIM_NOTEBOOK_OUTPUT`` for files it writes; the tests set both small/temporary.
The notebooks contain their own checks (``assert`` / ``numpy.testing``), e.g. that the
array-level model reproduces ``pksim.run`` and that saved files read back identical, so a
notebook that runs to the end has also passed those.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
EXPECTED = (
    "01-quickstart.ipynb",
    "02-regimen-explorer.ipynb",
    "03-interactions-and-food.ipynb",
    "04-large-cohorts.ipynb",
    "05-dosing-over-time.ipynb",
    "06-precision-dosing.ipynb",
)
TEST_SUBJECTS = 300
"""Cohort size while testing: enough for every CYP3A5 genotype and weight band to appear."""
CELL_TIMEOUT_S = 300
KERNEL_NAME = "pksim-notebook-test"


def _code_cells(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        notebook = json.load(handle)
    return [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]


def test_every_issue_notebook_is_present() -> None:
    assert [p.name for p in NOTEBOOKS] == list(EXPECTED)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    """Committed notebooks carry no outputs or execution counts (clear them before committing:
    see notebooks/README.md)."""
    dirty = [
        index
        for index, cell in enumerate(_code_cells(path))
        if cell.get("outputs") or cell.get("execution_count") is not None
    ]
    assert not dirty, (
        f"{path.name}: code cells {dirty} have outputs or execution counts; clear them "
        "(see notebooks/README.md) before committing"
    )


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory: pytest.TempPathFactory):
    """A kernelspec bound to this interpreter (not whatever "python3" a machine has), found
    through JUPYTER_PATH."""
    kernelspec = pytest.importorskip("ipykernel.kernelspec", reason="needs ipykernel")
    prefix = tmp_path_factory.mktemp("jupyter")
    kernelspec.install(kernel_name=KERNEL_NAME, prefix=str(prefix))
    return {"JUPYTER_PATH": str(prefix / "share" / "jupyter"), "JUPYTER_PLATFORM_DIRS": "1"}


def _execute(path: Path, workdir: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PKSIM_NOTEBOOK_SUBJECTS", str(TEST_SUBJECTS))
    monkeypatch.setenv("PKSIM_NOTEBOOK_OUTPUT", str(workdir / "output"))
    nbformat = pytest.importorskip("nbformat", reason="needs nbformat")
    nbclient = pytest.importorskip("nbclient", reason="needs nbclient")
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name=KERNEL_NAME,
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute()
    return notebook


def _outputs(notebook) -> list[dict]:
    return [
        output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom(
    path: Path, tmp_path: Path, kernel_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    notebook = _execute(path, tmp_path, kernel_env, monkeypatch)
    outputs = _outputs(notebook)
    errors = [o for o in outputs if o.get("output_type") == "error"]
    assert not errors, errors
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert images, f"{path.name} drew no figure"
    if path.name.startswith("02"):
        # Without a front end the explorer still shows its static example and its timing.
        static = next(cell for cell in notebook.cells if "show(**EXAMPLE)" in cell.source)
        assert any("image/png" in o.get("data", {}) for o in static.outputs)
        printed = "".join(o.get("text", "") for o in static.outputs if "text" in o)
        assert "drawn in" in printed
    if path.name.startswith("04"):
        output = tmp_path / "output"
        assert (output / "large-cohort.nc").is_file()
        if importlib.util.find_spec("zarr") is not None:  # optional: the notebook skips Zarr
            assert (output / "large-cohort.zarr").is_dir()
