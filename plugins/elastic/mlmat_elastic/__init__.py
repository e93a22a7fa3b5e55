"""Elastic tensor by finite strain for ase-mlmat (entry point ``elastic`` of ``ase_mlmat.properties``).

    from ase.build import bulk
    from ase.calculators.emt import EMT
    from mlmat_elastic import ElasticPredictor

    result = ElasticPredictor().predict(bulk("Cu"), EMT())
    result.elastic_tensor_GPa, result.moduli.bulk_modulus_GPa, result.debye_temperature_K

Without a calculator: :meth:`ElasticResult.from_tensor` and :meth:`ElasticResult.from_moduli`.
"""

from __future__ import annotations

from .fit import TensorFit, fit_elastic_tensor
from .predictor import ElasticPredictor
from .result import ElasticResult
from .voigt import deformed, rotate_elastic_tensor, strain_tensor, voigt_strain

__all__ = [
    "ElasticPredictor",
    "ElasticResult",
    "TensorFit",
    "deformed",
    "fit_elastic_tensor",
    "rotate_elastic_tensor",
    "strain_tensor",
    "voigt_strain",
]
