"""Build the shipped glass-mobility model: per timescale, an ensemble whose weights are chosen on
leave-one-configuration-out predictions (see :mod:`mlmat_glass.build`).

    OMP_NUM_THREADS=1 python scripts/build_glass_ensemble.py --configs 1-10 \
        --inherent-cache runs/glass_cache --out plugins/glass/mlmat_glass/pretrained/ka-T0.44-botan.pt

``--target mean_squared_displacement`` trains on mean |Δr|² instead of mean |Δr|; ``--network W:S:E`` adds
graph-network members; ``--help`` lists the rest.
"""

from __future__ import annotations

from mlmat_glass.build import main

if __name__ == "__main__":
    main()
