#!/usr/bin/env bash
# The checks that need a GPU, in one run: the CUDA tests, then the neighbour-list and MD benchmarks on CPU and CUDA.
#
#   bash scripts/gpu_check.sh OUTDIR
#
# Writes OUTDIR/{gpu.txt, pytest_cuda.log, pytest_export_cuda.log, bench_neighbors_cuda.json, bench_md_cuda.json,
# bench_md_skin_cuda.json, bench_neighbors_batch_cuda.json, bench_md_torchsim_cuda.json} and the benchmarks'
# stderr (the torch-sim tests and benchmark need the torchsim extra; without it they skip or record an ImportError). Each step has its own time limit, so a slow step still leaves the others' results. Needs the package and the shared data
# (../shared/data) installed as for the tests.
set -u
out=${1:?usage: gpu_check.sh OUTDIR}
mkdir -p "$out"
export PYTHONUNBUFFERED=1
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name())"
} > "$out/gpu.txt" 2>&1
cat "$out/gpu.txt"
timeout "${TEST_SECONDS:-300}" python3 -m pytest -q -p no:cacheprovider -rs --durations=12 \
  tests/test_cuda.py tests/test_devices.py tests/test_calculator.py tests/graph tests/test_torchsim.py \
  plugins/glass/tests/test_cuda.py \
  tests/screen/test_screening.py::test_screening_on_cuda_gives_the_cpu_moduli \
  2>&1 | tee "$out/pytest_cuda.log" | tail -40
timeout 180 python3 -m pytest -q -p no:cacheprovider -rs tests/export/test_export.py -k cuda \
  2>&1 | tee "$out/pytest_export_cuda.log" | tail -5
timeout 120 python3 scripts/bench_neighbors.py --devices cuda --sizes 500,4000,32000 > "$out/bench_neighbors_cuda.json" \
  2> "$out/bench_neighbors_cuda.err"
echo "bench_neighbors exit $?"; cat "$out/bench_neighbors_cuda.json"
timeout "${BENCH_SECONDS:-300}" python3 scripts/bench_md.py --calculators mlmat,emt --sizes "${BENCH_SIZES:-64,512,4000,32000}" \
  --target-seconds 2 > "$out/bench_md_cuda.json" 2> "$out/bench_md_cuda.err"
echo "bench_md exit $?"
timeout 180 python3 scripts/bench_md.py --md --skins 0,1 --calculators mlmat --devices cuda --sizes 4000,32000 \
  --target-seconds 2 > "$out/bench_md_skin_cuda.json" 2> "$out/bench_md_skin_cuda.err"
echo "bench_md --skins exit $?"; cat "$out/bench_md_skin_cuda.json"
# the neighbour-list backends on a batch of 1,000 systems of 108 atoms (the batched search of TorchSimModel)
timeout 90 python3 scripts/bench_neighbors.py --devices cuda --sizes 108 --batch 1000 --brute-max 0 \
  > "$out/bench_neighbors_batch_cuda.json" 2> "$out/bench_neighbors_batch_cuda.err"
echo "bench_neighbors --batch exit $?"; cat "$out/bench_neighbors_batch_cuda.json"
# torch-sim's batched NVE: 1, 100 and 1,000 copies of Cu 64, beside ase-mlmat through ASE on one copy
timeout 150 python3 scripts/bench_md.py --md --calculators mlmat,torchsim --devices cuda --systems Cu --sizes 64 \
  --batches 1,100,1000 --target-seconds 2 > "$out/bench_md_torchsim_cuda.json" 2> "$out/bench_md_torchsim_cuda.err"
echo "bench_md torchsim exit $?"; cat "$out/bench_md_torchsim_cuda.json"
python3 - "$out/bench_md_cuda.json" <<'PY'
import json, sys
try:
    data = json.loads(open(sys.argv[1]).read())
except Exception as err:  # the benchmark failed or timed out: its stderr is in the .err file
    sys.exit(f"no benchmark JSON: {err}")
for r in data["results"]:
    print(r.get("calculator"), r.get("system"), r.get("n_atoms"), r.get("device"), r.get("atom_steps_per_s"),
          r.get("peak_mem_MiB"), r.get("error", ""))
for k, v in data["ratios"].items():
    print(k, v)
PY
