"""An image's programs are in the container's root because the image names
them, not because the sandbox's own import path happens to cover the
project folder: `isolation.program_dirs` (pure, on a folder of its own)."""
from __future__ import annotations

import os

from gameday.sandbox.kubelet.isolation import Layout, bwrap_argv, program_dirs


def _venv(tmp_path):
    """A virtual environment made from a Python outside it, with an editable
    install (.pth naming a source folder), as `make setup` builds .venv-platform."""
    base = tmp_path / "pythons" / "3.11"
    (base / "bin").mkdir(parents=True)
    (base / "bin" / "python3").write_text("")
    project = tmp_path / "project"
    venv = project / ".venv-platform"
    (venv / "bin").mkdir(parents=True)
    os.symlink(base / "bin" / "python3", venv / "bin" / "python")
    (venv / "pyvenv.cfg").write_text(f"home = {base / 'bin'}\nversion = 3.11.7\n")
    site = venv / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    (project / "src").mkdir()
    (site / "__editable__.platform.pth").write_text(f"{project / 'src'}\n")
    (site / "other.pth").write_text("import os; os.environ.get('X')\n")   # code, not a folder
    (project / "deploy" / "sandbox" / "bin").mkdir(parents=True)
    return base, project, venv


def test_a_venv_interpreter_brings_its_environment_base_python_and_editable_sources(tmp_path):
    base, project, venv = _venv(tmp_path)
    dirs = program_dirs([str(venv / "bin" / "python")])
    assert str(venv) in dirs and str(base) in dirs and str(project / "src") in dirs
    assert str(project) not in dirs   # the project folder itself is not needed


def test_a_path_through_dotdot_keeps_the_folder_it_walks_through(tmp_path):
    base, project, venv = _venv(tmp_path)
    written = f"{project}/deploy/sandbox/../../.venv-platform/bin/python"   # the catalog's {catalog_dir}/../..
    dirs = program_dirs([written, f"{project}/deploy/sandbox/bin"])
    assert str(project / "deploy" / "sandbox") in dirs and str(venv) in dirs


def test_system_folders_missing_and_relative_paths_add_nothing(tmp_path):
    assert program_dirs(["/usr/bin/busybox", "python3", str(tmp_path / "gone" / "prog"), ""]) == []


def test_the_container_root_binds_the_image_programs(tmp_path):
    base, project, venv = _venv(tmp_path)
    (tmp_path / "etc").mkdir()
    layout = Layout(netns="ns", etc_dir=tmp_path / "etc", programs=program_dirs([str(venv / "bin" / "python")]))
    argv = bwrap_argv(layout, [str(venv / "bin" / "python"), "-V"])
    binds = {argv[i + 1] for i, a in enumerate(argv) if a == "--ro-bind"}
    assert {str(venv), str(base), str(project / "src")} <= binds
