#!/usr/bin/env bash
# Evidence for issue 3 (property plugins), written to docs/properties/. About 2 CPU-minutes, one thread.
#
#   bash scripts/issue3_artefacts.sh                                   # shipped models
#   SI_MODEL=runs/si-stress/model.pt bash scripts/issue3_artefacts.sh  # e.g. a retrained Si model
#   QHA_CHECK=1 STRESS_LABELS=1 bash scripts/issue3_artefacts.sh       # + QHA set-up scan, stress-label check
#
# Every *_MODEL is a shipped model name or a checkpoint path. Run from anywhere; paths are repo-relative.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

SI_MODEL=${SI_MODEL:-mlearn-Si}
GE_MODEL=${GE_MODEL:-mlearn-Ge}
MO_MODEL=${MO_MODEL:-mlearn-Mo}
CU_MODEL=${CU_MODEL:-mlearn-Cu}
NI_MODEL=${NI_MODEL:-mlearn-Ni}
LI_MODEL=${LI_MODEL:-mlearn-Li}
EMT=ase.calculators.emt:EMT
OUT=docs/properties
S=$OUT/structures
mkdir -p "$OUT" "$S"
mlmat() { python -m ase_mlmat.cli "$@"; }

# 1. installed property plugins
mlmat plugins | tee "$OUT/plugins.txt"

# 2. structure files, then `mlmat predict hardness` with the shipped models and with EMT (JSON and CSV)
python scripts/issue3_artefacts.py structures "$S"
{
  mlmat predict hardness "$S/Si_diamond.extxyz" --calc "$SI_MODEL" --output "$OUT/hardness_Si.json" --no-progress
  mlmat predict hardness "$S/Ge_diamond.extxyz" --calc "$GE_MODEL" --output "$OUT/hardness_Ge.json" --no-progress
  mlmat predict hardness "$S/Mo_bcc.extxyz" --calc "$MO_MODEL" --output "$OUT/hardness_Mo.json" --no-progress
  mlmat predict hardness "$S/Cu_fcc.extxyz" "$S/Ni_fcc.extxyz" "$S/Al_fcc.extxyz" --calc "$EMT" \
      --output "$OUT/hardness_EMT.json" --no-progress
  mlmat predict hardness "$S/Si_diamond.extxyz" --calc "$SI_MODEL" --output "$OUT/hardness_Si.csv" --no-progress
  mlmat predict hardness "$S/Cu_fcc.extxyz" "$S/Ni_fcc.extxyz" "$S/Al_fcc.extxyz" --calc "$EMT" \
      --output "$OUT/hardness_EMT.csv" --no-progress
} 2>&1 | tee "$OUT/predict_hardness.log"

# 3. Ashby plot (H_v vs K_IC): the results above plus diamond, Si, MgO from experimental elastic constants
python scripts/issue3_artefacts.py ashby "$OUT/ashby.png" \
    "$OUT/hardness_Si.json:$SI_MODEL" "$OUT/hardness_Ge.json:$GE_MODEL" "$OUT/hardness_Mo.json:$MO_MODEL" \
    "$OUT/hardness_EMT.json:EMT" \
    | tee "$OUT/ashby.log"

# 4. α(T) of diamond Si: Debye–Grüneisen vs QHA in one plot, numbers at 100/300/600 K
python scripts/issue3_artefacts.py alpha "$OUT" --model "$SI_MODEL"

# 5. C_ij of the six mlearn models vs the PBE elastic frames of their training data
python scripts/elastic_mlearn_table.py --out "$OUT" --model "Si=$SI_MODEL" --model "Ge=$GE_MODEL" \
    --model "Mo=$MO_MODEL" --model "Cu=$CU_MODEL" --model "Ni=$NI_MODEL" --model "Li=$LI_MODEL" > /dev/null

# 6. optional: how the QHA α depends on supercell, displacement, mesh, volume grid, EOS, dtype
if [[ "${QHA_CHECK:-0}" == 1 ]]; then
  python scripts/issue3_artefacts.py qha-check "$OUT" --model "$SI_MODEL"
fi

# 7. optional: are the yz/xz stress labels of the training files exchanged? (about 1 CPU-minute)
if [[ "${STRESS_LABELS:-0}" == 1 ]]; then
  python scripts/issue3_artefacts.py stress-labels "$OUT" --model "Si=$SI_MODEL" --model "Ge=$GE_MODEL" \
      --model "Mo=$MO_MODEL" --model "Cu=$CU_MODEL" --model "Ni=$NI_MODEL" --model "Li=$LI_MODEL"
fi
echo "artefacts in $OUT"
