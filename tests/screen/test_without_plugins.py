"""The core without plugins: ``import ase_mlmat`` works and ``mlmat screen`` runs its fast tier.

A subprocess makes every plugin package unimportable (``sys.modules[name] = None``) and the registry
see no entry points, then screens a few MP structures with the shipped model: rows come out with the
ML moduli and the quantities the core derives from them, and no plugin columns.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from ase.io import write

from ase_mlmat import pretrained

from .conftest import MODULI_DATA

pytestmark = pytest.mark.skipif("mp-binary-kg" not in pretrained.available(), reason="mp-binary-kg not shipped")

PLUGINS = ("mlmat_elastic", "mlmat_hardness", "mlmat_thermal", "mlmat_glass")
SCRIPT = textwrap.dedent(
    """
    import json, sys
    for name in {plugins!r}:
        sys.modules[name] = None  # any import of a plugin now raises ImportError
    import ase_mlmat.properties.registry as registry
    registry._entry_points = lambda: {{}}  # the registry sees no installed predictor
    from ase_mlmat.cli import main
    from ase_mlmat.workflows.screening import connect
    code = main(["screen", {structures!r}, "--db", {db!r}, "--no-progress"])
    rows = [dict(row.key_value_pairs) for row in connect({db!r}).select()]
    loaded = sorted(name for name in sys.modules if name.startswith("mlmat_") and sys.modules[name] is not None)
    print("RESULT", json.dumps({{"code": code, "rows": rows, "loaded": loaded}}))
    """
)


def test_fast_tier_runs_without_any_plugin(tmp_path):
    from ase_mlmat.data.elastic import load_moduli_dataset

    data = load_moduli_dataset(MODULI_DATA, limit=3)
    structures, db = str(tmp_path / "three.extxyz"), str(tmp_path / "screen.db")
    write(structures, data.structures)
    script = SCRIPT.format(plugins=PLUGINS, structures=structures, db=db)
    env_run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert env_run.returncode == 0, env_run.stderr[-2000:]
    print(env_run.stdout.splitlines()[0])
    result = json.loads(env_run.stdout.split("RESULT ", 1)[1])
    assert result["code"] == 0 and result["loaded"] == []
    rows = result["rows"]
    assert len(rows) == 3 and all(row["ok"] for row in rows)
    for row in rows:
        assert row["bulk_modulus_GPa"] > 0 and row["shear_modulus_GPa"] > 0
        assert row["youngs_modulus_GPa"] > row["shear_modulus_GPa"] and -1 < row["poisson_ratio"] < 0.5
        assert row["debye_temperature_K"] > 0 and row["density_kg_m3"] > 0
        assert "vickers_hardness_GPa" not in row and "alpha_300K_per_K" not in row  # plugin columns only with plugins


def test_promotion_without_the_elastic_plugin_is_refused(tmp_path, monkeypatch):
    from ase.build import bulk
    from ase.calculators.emt import EMT

    from ase_mlmat.properties import registry
    from ase_mlmat.workflows.screening import connect, promote
    from ase_mlmat.workflows.screening.store import write_records

    monkeypatch.setattr(registry, "_entry_points", lambda: {})
    db = connect(str(tmp_path / "p.db"))
    write_records(db, [("Cu", bulk("Cu"), {"ok": True, "tier": "ml", "bulk_modulus_GPa": 140.0})])
    with pytest.raises(ValueError, match="elastic tier needs the 'elastic' property predictor"):
        promote(db, EMT(), top_elastic=1, rank_by="bulk_modulus_GPa", progress=False)
    monkeypatch.undo()
    with pytest.raises(ValueError, match="no screened row has 'vickers_hardness_GPa'"):
        promote(db, EMT(), top_elastic=1, progress=False)  # the default ranking column needs hardness
