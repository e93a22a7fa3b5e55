"""ASE plugin entry point (``ase.plugins`` group): lists MLCalculator in ``ase info --plugins``.

Importing this module must stay cheap: the calculator class is named by string and
only imported when ASE resolves it.
"""

from __future__ import annotations

import sys

from ase._4.plugins.plugin import CalculatorPlugin

mlmat_plugin = CalculatorPlugin(
    name="mlmat",
    citation="ase-mlmat: message-passing potentials and property predictors for ASE",
    module=sys.modules[__name__],
    implementation="ase_mlmat.calculator.MLCalculator",
)

__ase_plugins__ = {mlmat_plugin}
