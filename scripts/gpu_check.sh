#!/usr/bin/env bash
# Every check that needs a GPU, in one run of at most ~9 minutes (the device tool lends 10 minutes a call):
# the CUDA tests, then the CUDA benchmarks, each under its own time limit so that a slow step still leaves the
# others' results.
#
#   bash scripts/gpu_check.sh OUTDIR
#
# Writes into OUTDIR: gpu.txt; pytest_cuda.log, pytest_export_cuda.log (tests); bench_neighbors_cuda.json,
# bench_md_cuda.json (one large system, eager and AOTInductor-compiled, neighbour-list skin 1 Å),
# bench_md_torchsim_cuda.json (1, 100 and 1,000 batched Cu 64 in torch-sim), bench_profile_cuda.json (flops,
# bytes, floor and top kernels at 32,000 atoms); each benchmark's stderr beside its JSON. Needs the package with
# the torchsim extra and the shared data (../shared/data) installed as for the tests. Limits (seconds) can be
# changed through TEST_SECONDS, BENCH_SECONDS.
set -u
out=${1:?usage: gpu_check.sh OUTDIR}
mkdir -p "$out"
export PYTHONUNBUFFERED=1
t=${TEST_SECONDS:-120}
b=${BENCH_SECONDS:-150}
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name())"
} > "$out/gpu.txt" 2>&1
cat "$out/gpu.txt"
timeout "$t" python3 -m pytest -q -p no:cacheprovider -rs --durations=8 \
  tests/test_cuda.py tests/test_devices.py tests/test_calculator.py tests/graph tests/test_torchsim.py \
  plugins/glass/tests/test_cuda.py tests/screen/test_screening.py::test_screening_on_cuda_gives_the_cpu_moduli \
  2>&1 | tee "$out/pytest_cuda.log" | tail -25
timeout 90 python3 -m pytest -q -p no:cacheprovider -rs tests/export/test_export.py -k cuda \
  2>&1 | tee "$out/pytest_export_cuda.log" | tail -5
timeout 45 python3 scripts/bench_neighbors.py --devices cuda --sizes 4000,32000 > "$out/bench_neighbors_cuda.json" \
  2> "$out/bench_neighbors_cuda.err"
echo "bench_neighbors exit $?"; cat "$out/bench_neighbors_cuda.json"
# one large system through ASE MD: eager and compiled (the compile, about a minute, is untimed), Cu and Si
timeout "$b" python3 scripts/bench_md.py --md --compile both --calculators mlmat --devices cuda --systems Cu,Si \
  --sizes 32000 --target-seconds 2 > "$out/bench_md_cuda.json" 2> "$out/bench_md_cuda.err"
echo "bench_md exit $?"; cat "$out/bench_md_cuda.json"
# torch-sim's batched NVE: 1, 100 and 1,000 copies of Cu 64
timeout 90 python3 scripts/bench_md.py --md --calculators torchsim --devices cuda --systems Cu --sizes 64 \
  --batches 1,100,1000 --target-seconds 2 > "$out/bench_md_torchsim_cuda.json" 2> "$out/bench_md_torchsim_cuda.err"
echo "bench_md torchsim exit $?"; cat "$out/bench_md_torchsim_cuda.json"
timeout 60 python3 scripts/bench_profile.py --device cuda --cases mlearn-Cu:Cu:20 --seconds 2 \
  > "$out/bench_profile_cuda.json" 2> "$out/bench_profile_cuda.err"
echo "bench_profile exit $?"; cat "$out/bench_profile_cuda.json"
