"""``thermal_expansion``: the property predictor, one tier per call ("bound", "debye" or "qha"; "auto" picks)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from ase import Atoms
from numpy.typing import ArrayLike

from ase_mlmat.properties import ModuliSource, PropertyError, PropertyPredictor, PropertyResult

from .debye import DEFAULT_TEMPERATURES_K, DebyeGruneisenResult, debye_gruneisen_expansion
from .estimate import ExpansionEstimate, expansion_estimate
from .gruneisen import LECTURE_PREFACTOR
from .moduli_source import ModuliProvider, moduli_from, resolve_moduli
from .qha import QuasiHarmonicResult, quasi_harmonic_expansion

TIERS = ("bound", "debye", "qha")
AUTO = "auto"
REASON_QHA = (
    "auto: a calculator was given, so quasi-harmonic phonons (the Debye–Grüneisen tier with γ from ν "
    "ignores the real mode Grüneisen parameters: for Si it gives 3.5× the measured α)"
)
REASON_DEBYE = "auto: no calculator, so the Debye–Grüneisen model from the moduli"
REASON_REQUESTED = "requested"
SOURCE_NAMES = {"ElasticResult": "elastic", "ModuliPrediction": "fast_ml", "GivenModuli": "given"}


@dataclass(frozen=True)
class ThermalExpansionResult(PropertyResult):
    """α_L of the requested tier, with the cheaper tiers that were computed on the way.

    ``alpha_300K_per_K``, ``temperatures_K`` and ``alpha_linear_per_K`` come from the highest tier
    (None arrays for "bound", which gives one temperature only).
    """

    tier: str
    tier_reason: str  # why this tier: "requested", or the automatic choice and its reason
    alpha_300K_per_K: float
    negative_alpha_below_K: float | None
    moduli_source: str | None  # "given", "atoms.info", "provider", "elastic plugin", "fast_ml"…; None: not used
    estimate: ExpansionEstimate | None
    debye: DebyeGruneisenResult | None
    qha: QuasiHarmonicResult | None
    temperatures_K: np.ndarray | None
    alpha_linear_per_K: np.ndarray | None

    def summary_row(self) -> dict[str, Any]:
        """Thermal columns of a screening row: α_L at 300 K (1/K), the bound on it, the tier."""
        row = {"alpha_300K_per_K": self.alpha_300K_per_K, "thermal_tier": self.tier}
        if self.estimate is not None:
            row["alpha_bound_per_K"] = self.estimate.bound.alpha_bound_per_K
        return row

    def details(self) -> str:
        """Multi-line text: the tier and why, α_L at 300 K (1/K) of each tier computed."""
        lines = [f"tier: {self.tier} ({self.tier_reason})", f"alpha_L(300 K) = {self.alpha_300K_per_K:.3e} 1/K"]
        for name, part in (("bound estimate", self.estimate), ("Debye–Grüneisen", self.debye), ("QHA", self.qha)):
            if part is not None:
                alpha = part.alpha_300K_per_K if hasattr(part, "alpha_300K_per_K") else part.alpha_linear_per_K
                lines.append(f"  {name}: alpha_L(300 K) = {alpha:.3e} 1/K")
        if self.negative_alpha_below_K is not None:
            lines.append(f"  alpha_L < 0 below {self.negative_alpha_below_K:.0f} K")
        return "\n".join(lines)


class ThermalExpansionPredictor(PropertyPredictor):
    """Linear thermal expansion α_L (1/K) in one of three tiers of cost and accuracy.

    ``tier="auto"`` (default) takes "qha" when a calculator is given and "debye" otherwise ("bound" in
    :meth:`predict_from_moduli`); the result's ``tier`` and ``tier_reason`` say which and why.

    * ``"bound"``: Debye–Grüneisen α_L at 300 K from K, G and the density, with its position relative
      to α_L E ≤ f(ν) c_V ρ — no calculator needed when the moduli are known;
    * ``"debye"``: the same model over a temperature grid;
    * ``"qha"``: quasi-harmonic phonons with the calculator (minutes per structure); the cheaper tiers are
      added when moduli are at hand (given, in ``atoms.info`` or from ``moduli_provider``).

    Moduli (bound, debye) come from ``moduli`` (``(K_GPa, G_GPa)``, a 6×6 C in GPa or a moduli source),
    else ``atoms.info``, else ``moduli_provider(atoms, calculator)``, else the registered ``elastic``
    predictor (see :mod:`mlmat_thermal.moduli_source`).

    Args:
        tier: "auto", "bound", "debye" or "qha".
        moduli: K, G (GPa), a 6×6 stiffness tensor (GPa) or a moduli source, used for every structure.
        moduli_provider: callable (atoms, calculator) → moduli, e.g. a wrapper around an elastic predictor.
        gruneisen: γ for the Debye–Grüneisen tiers; default γ(ν) of Belomestnykh & Tesleva.
        bound_prefactor: 2 (lecture's bound) or 1.5 (Belomestnykh–Tesleva).
        temperatures_K: temperature grid (K) of the debye and qha tiers; default 0–1000 K every 10 K.
        qha_options: keyword arguments of :func:`~mlmat_thermal.qha.quasi_harmonic_expansion`.
    """

    name: ClassVar[str] = "thermal_expansion"
    consumes_moduli: ClassVar[bool] = True

    def __init__(
        self,
        tier: str = AUTO,
        *,
        moduli: Any = None,
        moduli_provider: ModuliProvider | None = None,
        gruneisen: float | None = None,
        bound_prefactor: float = LECTURE_PREFACTOR,
        temperatures_K: ArrayLike | None = None,
        qha_options: Mapping[str, Any] | None = None,
    ) -> None:
        if tier not in (AUTO, *TIERS):
            raise ValueError(f"tier must be one of {(AUTO, *TIERS)}, got {tier!r}")
        if gruneisen is not None and not math.isfinite(float(gruneisen)):
            raise ValueError(f"gruneisen must be finite, got {gruneisen}")
        self.tier = tier
        self.moduli = moduli
        self.moduli_provider = moduli_provider
        self.gruneisen = None if gruneisen is None else float(gruneisen)
        self.bound_prefactor = float(bound_prefactor)
        self.temperatures_K = np.asarray(
            DEFAULT_TEMPERATURES_K if temperatures_K is None else temperatures_K, dtype=float
        )
        self.qha_options = dict(qha_options or {})

    def chosen_tier(self, calculator) -> tuple[str, str]:
        """(tier, reason) for a call with or without a calculator."""
        if self.tier != AUTO:
            return self.tier, REASON_REQUESTED
        return ("qha", REASON_QHA) if calculator is not None else ("debye", REASON_DEBYE)

    def predict(self, atoms: Atoms, calculator=None) -> ThermalExpansionResult:
        """α_L of ``atoms`` in the configured (or automatically chosen) tier; PropertyError for unphysical input."""
        tier, reason = self.chosen_tier(calculator)
        if tier == "qha" and calculator is None:
            raise PropertyError("the qha tier needs a calculator")
        moduli = resolve_moduli(
            atoms, calculator, moduli=self.moduli, provider=self.moduli_provider, use_elastic_plugin=tier != "qha"
        )
        estimate, debye = (None, None) if moduli is None else self._from_moduli(atoms, moduli[:2], tier)
        qha = None
        if tier == "qha":
            options = {"temperatures_K": self.temperatures_K, **self.qha_options}
            qha = quasi_harmonic_expansion(atoms, calculator, **options)
        return assemble_result(tier, reason, None if moduli is None else moduli[2], estimate, debye, qha)

    def predict_from_moduli(self, atoms: Atoms, moduli: ModuliSource) -> ThermalExpansionResult:
        """α_L from a moduli source (no calculator, so no QHA): the chaining and screening path.

        ``tier="auto"`` gives the bound tier here: α_L at 300 K and its bound, about 0.1 ms per structure
        (the Debye tier's α at 300 K is the same number; its α(T) grid costs about 8× more); "debye" adds α(T).
        """
        tier = "debye" if self.tier in ("debye", "qha") else "bound"
        if self.tier == tier:
            reason = REASON_REQUESTED
        elif self.tier == AUTO:
            reason = "auto: from moduli alone, α_L at 300 K and its bound"
        else:
            reason = "qha requested, but from moduli alone there is no calculator for phonons"
        estimate, debye = self._from_moduli(atoms, moduli_from(moduli), tier)
        name = type(moduli).__name__
        return assemble_result(tier, reason, SOURCE_NAMES.get(name, name), estimate, debye, None)

    def _from_moduli(
        self, atoms: Atoms, moduli: tuple[float, float], tier: str
    ) -> tuple[ExpansionEstimate, DebyeGruneisenResult | None]:
        K, G = moduli
        estimate = expansion_estimate(atoms, K, G, gruneisen=self.gruneisen, bound_prefactor=self.bound_prefactor)
        if tier == "bound":
            return estimate, None
        return estimate, debye_gruneisen_expansion(
            atoms, K, G, gruneisen=self.gruneisen, temperatures_K=self.temperatures_K
        )


def assemble_result(
    tier: str,
    tier_reason: str,
    moduli_source: str | None,
    estimate: ExpansionEstimate | None,
    debye: DebyeGruneisenResult | None,
    qha: QuasiHarmonicResult | None,
) -> ThermalExpansionResult:
    """A :class:`ThermalExpansionResult` whose headline numbers come from the highest tier present."""
    top = qha if qha is not None else debye
    if top is not None:
        alpha_300, T, alpha = top.alpha_300K_per_K, top.temperatures_K, top.alpha_linear_per_K
    elif estimate is not None:
        alpha_300, T, alpha = estimate.alpha_linear_per_K, None, None
    else:
        raise PropertyError("no tier produced a result")
    return ThermalExpansionResult(
        tier=tier,
        tier_reason=tier_reason,
        alpha_300K_per_K=alpha_300,
        negative_alpha_below_K=qha.negative_alpha_below_K if qha is not None else None,
        moduli_source=moduli_source,
        estimate=estimate,
        debye=debye,
        qha=qha,
        temperatures_K=T,
        alpha_linear_per_K=alpha,
    )
