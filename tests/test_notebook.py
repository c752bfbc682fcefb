"""The example notebook runs top to bottom in a real Jupyter kernel (nbclient + ipykernel of this Python),
without a cell error, and shows HTML tables and images."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import ipykernel  # noqa: F401
import matplotlib  # noqa: F401
import nbclient
import nbformat
import pytest
from conftest import ROOT


@pytest.mark.slow
def test_example_notebook_executes(tmp_path: Path) -> None:
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    # The kernel must be this interpreter (the virtual environment with the extension): install its kernelspec
    # under a private prefix rather than relying on whatever `python3` kernel the machine has.
    prefix = tmp_path / "jupyter"
    from ipykernel.kernelspec import install

    install(prefix=str(prefix), kernel_name="pf-test")
    ksm = KernelSpecManager()
    ksm.kernel_dirs.insert(0, str(prefix / "share" / "jupyter" / "kernels"))
    try:
        spec = ksm.get_kernel_spec("pf-test")
    except NoSuchKernel:  # pragma: no cover
        pytest.fail("the kernelspec was not installed")
    assert spec.argv[0] == sys.executable or os.path.samefile(spec.argv[0], sys.executable)

    nb = nbformat.read(ROOT / "examples" / "maximum_pressure.ipynb", as_version=4)  # type: ignore[no-untyped-call]  # nbformat has no annotations
    env = {**os.environ, "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    client = nbclient.NotebookClient(
        nb,
        timeout=600,
        kernel_name="pf-test",
        kernel_manager_class="jupyter_client.manager.KernelManager",
        resources={"metadata": {"path": str(ROOT / "examples")}},
    )
    client.km = client.kernel_manager_class(kernel_name="pf-test", kernel_spec_manager=ksm)
    old = os.environ.copy()
    os.environ.update(env)
    try:
        client.execute()  # raises CellExecutionError on any cell error
    finally:
        os.environ.clear()
        os.environ.update(old)

    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    html = [o for o in outputs if "text/html" in o.get("data", {})]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(html) >= 6, f"{len(html)} HTML outputs"
    assert len(images) >= 4, f"{len(images)} image outputs"
    assert any("<table" in o["data"]["text/html"] for o in html)
