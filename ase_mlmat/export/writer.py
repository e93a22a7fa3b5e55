"""Write a potential as a self-contained file that runs without ase_mlmat (``mlmat export``).

Two formats hold the same computation (:class:`~.interface.ExportInterface`) and the same metadata:

- ``aoti`` (default, ``.pt2``): the forward and backward passes are traced into one graph of aten operations
  (``make_fx``), exported with dynamic atom and edge counts (``torch.export``) and compiled ahead of time by
  AOTInductor into a shared library inside the package. Loading needs no compiler (Python:
  ``torch._inductor.aoti_load_package``; C++: ``torch::inductor::AOTIModelPackageLoader``), and the fused
  kernels run energy + forces + virial 1.8–5× faster than TorchScript on one CPU thread (docs/export.md).
  Exporting needs a C++ compiler and takes a minute per model; the library is built for one device
  (``--device``) and runs only with the torch version that built it.
- ``torchscript`` (``.pt``): ``torch.jit.script`` of the same module, autograd included. Exports in seconds
  without a compiler and loads on any device (``torch.jit.load`` / ``torch::jit::load``), at the speed of
  the eager model.
- ``metatomic`` (``.pt``): the same members behind metatomic's model interface (:mod:`.metatomic`), for the
  engines that read metatomic models; needs the optional ``metatomic-torch``. It returns the energy only: the
  engine differentiates it for forces and stress.

Metadata (:func:`metadata`), a dict of strings, is stored as the AOTInductor package's metadata
(``get_metadata()``), as the TorchScript extra file ``metadata.json`` or as the metatomic model metadata's
``extra``: element order, cutoff, number of
message-passing layers (a ghost atom further than layers × cutoff from every local atom cannot change the
energy), dtype, device, format version and the SHA-256 of the source model file.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import os
import warnings
from pathlib import Path

import torch

from ..model_store import load_model, model_path
from ..models.ensemble import Ensemble
from ..models.registry import is_representation
from .interface import OUTPUTS, ExportInterface

FORMAT_VERSION = "1"
FORMATS = ("aoti", "torchscript", "metatomic")
METADATA_FILE = "metadata.json"  # the TorchScript extra file holding the metadata


class ExportError(RuntimeError):
    """The model could not be written in the requested format (no C++ compiler, no metatomic-torch)."""


def _sha256(spec: str | os.PathLike | torch.nn.Module) -> str:
    """SHA-256 of the model file ``spec`` names, or of a model instance's state dict (names and bytes)."""
    digest = hashlib.sha256()
    if isinstance(spec, torch.nn.Module):
        for name, tensor in sorted(spec.state_dict().items()):
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        return digest.hexdigest()
    with open(model_path(spec), "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _members(model: torch.nn.Module) -> list[torch.nn.Module]:
    members = list(model.members) if isinstance(model, Ensemble) else [model]
    for member in members:
        if not (is_representation(member.net) and member.head.mlp is not None):
            raise ValueError(
                f"only potentials of a representation and an energy head can be exported; "
                f"{member.architecture!r} gives its per-atom energies itself"
            )
    return members


def metadata(model: torch.nn.Module, *, dtype: torch.dtype, device: str, file_format: str, sha256: str) -> dict:
    """The strings an exported file carries about itself (see module docstring)."""
    members = _members(model)
    layers = max(len(getattr(m.net, "messages", getattr(m.net, "interactions", []))) for m in members)
    return {
        "format": "ase-mlmat-exported-potential",
        "format_version": FORMAT_VERSION,
        "file_format": file_format,
        "elements": " ".join(model.elements),
        "cutoff": repr(float(model.cutoff)),  # Å
        "num_interactions": str(layers),
        "committee_size": str(len(members)),
        "architecture": members[0].architecture,
        "dtype": str(dtype).removeprefix("torch."),
        "device": device,
        "inputs": "positions species edge_index edge_shifts num_local",
        "outputs": " ".join(OUTPUTS),
        "units": "positions A; energy eV; forces eV/A; virial eV",
        "source_sha256": sha256,
        "torch_version": torch.__version__,
    }


def example_inputs(module: ExportInterface, *, dtype: torch.dtype, device: str) -> tuple[torch.Tensor, ...]:
    """A small random cluster with a full neighbour list: the shapes to trace with (N and E stay dynamic)."""
    generator = torch.Generator().manual_seed(0)
    num_atoms = 12
    positions = 3.0 * torch.rand((num_atoms, 3), generator=generator, dtype=torch.float64)
    centre, neighbour = torch.triu_indices(num_atoms, num_atoms, offset=1)
    edge_index = torch.cat([torch.stack([centre, neighbour]), torch.stack([neighbour, centre])], dim=1)
    num_species = module.heads[0].reference_energies.shape[0]
    species = torch.arange(num_atoms) % num_species
    shifts = torch.zeros((edge_index.shape[1], 3), dtype=torch.float64)
    inputs = (positions.to(dtype), species, edge_index, shifts.to(dtype), torch.tensor(num_atoms - 2))
    return tuple(x.to(device) for x in inputs)


def _write_aoti(module: ExportInterface, path: Path, inputs: tuple, meta: dict) -> None:
    from torch.fx.experimental.proxy_tensor import make_fx

    # make_fx traces through torch.autograd.grad, which torch.export alone cannot; the weights become constants
    traced = make_fx(module, tracing_mode="symbolic", _allow_non_fake_inputs=True)(*inputs)
    atoms, edges = torch.export.Dim("num_atoms", min=2), torch.export.Dim("num_edges", min=2)
    program = torch.export.export(traced, inputs, dynamic_shapes=({0: atoms}, {0: atoms}, {1: edges}, {0: edges}, None))
    try:
        torch._inductor.aoti_compile_and_package(
            program, package_path=str(path), inductor_configs={"aot_inductor.metadata": meta}
        )
    except Exception as err:  # inductor raises its own types for a missing or failing compiler
        raise ExportError(
            f"AOTInductor could not compile the model ({type(err).__name__}: {str(err).strip().splitlines()[0]}); "
            "it needs a working C++ compiler (CXX or g++); `--format torchscript` needs none"
        ) from err


def _write_torchscript(module: ExportInterface, path: Path, meta: dict) -> None:
    scripted = torch.jit.script(module)
    buffer = io.BytesIO()
    torch.jit.save(scripted, buffer, _extra_files={METADATA_FILE: json.dumps(meta)})
    path.write_bytes(buffer.getvalue())


def export_model(
    model: str | os.PathLike | torch.nn.Module,
    path: str | os.PathLike,
    *,
    dtype: str | torch.dtype = "float64",
    device: str = "cpu",
    file_format: str = "aoti",
) -> Path:
    """Write ``model`` (checkpoint path, shipped name, potential or committee) as an exported file at ``path``.

    Args:
        model: the potential; a committee is exported as its mean.
        path: the file to write (``.pt2`` for "aoti", ``.pt`` for "torchscript" and "metatomic").
        dtype: "float64" or "float32", of the weights and of the floating-point inputs and outputs.
        device: "cpu" or "cuda" (or "cuda:N"): where the file's weights live and, for "aoti", which kernels
            are compiled.
        file_format: "aoti", "torchscript" or "metatomic" (see module docstring).

    Returns:
        ``path``.

    Raises:
        ValueError: unknown format, dtype or device, or an architecture that cannot be exported.
        ExportError: AOTInductor failed to compile (e.g. no C++ compiler), or metatomic-torch is missing.
        FileNotFoundError: ``model`` names no file and no shipped model.
    """
    from ..calculator import resolve_dtype

    if file_format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {file_format!r}")
    if file_format == "metatomic":
        from .metatomic import HAVE_METATOMIC, MISSING

        if not HAVE_METATOMIC:
            raise ExportError(MISSING)
    torch_dtype = resolve_dtype(dtype)
    try:
        target = torch.device(device)
    except RuntimeError:
        target = None
    if target is None or target.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda' (or 'cuda:N'), got {device!r}")
    if target.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("cannot export for 'cuda': no CUDA device is available here")
    if file_format == "aoti" and Path(path).suffix != ".pt2":
        raise ValueError(
            f"an AOTInductor package must be named *.pt2 (torch insists), got {str(path)!r}; "
            "name it so, or choose the torchscript format for a .pt file"
        )
    loaded = load_model(model, kind="potential")
    meta = metadata(loaded, dtype=torch_dtype, device=str(target), file_format=file_format, sha256=_sha256(model))
    members = [copy.deepcopy(m) for m in _members(loaded)]  # the caller's model keeps its dtype and device
    module = ExportInterface(members).to(device=target, dtype=torch_dtype).eval()
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():  # torch's notes on its own internals (deprecations inside the tracers)
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        if file_format == "aoti":
            _write_aoti(module, path, example_inputs(module, dtype=torch_dtype, device=str(target)), meta)
        elif file_format == "metatomic":
            from .metatomic import write_metatomic

            write_metatomic(module, path, meta)
        else:
            _write_torchscript(module, path, meta)
    return path
