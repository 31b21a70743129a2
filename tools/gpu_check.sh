#!/usr/bin/env bash
# Run the whole course on an NVIDIA GPU and log what happens, stage by stage:
#
#   sanity     nvidia-smi; torch sees CUDA; utils.pick_device() gives cuda; the course's packages
#              import; a Jupyter kernel (kernelspec python3) starts and computes on the GPU;
#              bubblewrap can sandbox; one answered assignment graded on CUDA in the sandbox
#              (with the default limits, and if that fails, again without the address-space limit,
#              which then also applies to the later grading stages: see the log)
#   notebooks  every lecture and every source/ notebook headless, COURSE_DEVICE=cuda
#              (pytest tests/test_notebooks.py: lectures draw their figures, answered
#              assignments pass every check)
#   mutants    `autograder mutants --device cuda`: every assignment's mutation suite
#   grade      `autograder grade --device cuda` on a batch (answered, blank and half-answered
#              notebook of every assignment: tools/grade_check_batch.py checks full marks, zero,
#              partial), then `autograder demo --device cuda` in a scratch course
#
# Usage:  tools/gpu_check.sh [LOG_DIR]          (default: gpu-check-logs/; one log per stage,
#                                               summary.txt with pass/fail and wall time each)
# Needs:  the course installed (`pip install -e .`) with a CUDA build of torch in $PYTHON's
#         environment, and bubblewrap for the sandbox. On a machine without network, source
#         tools/gpu_offline_setup.sh first (carried wheels and bubblewrap).
# Environment (all optional):
#   PYTHON=python3  COURSE_DEVICE=cuda (cpu tries the script itself on any machine)
#   STAGES="sanity notebooks mutants grade"   NB_WORKERS=8   WORKERS=<cores>
#   T_SANITY=180 T_NOTEBOOKS=240 T_MUTANTS=240 T_GRADE=180   (seconds each stage may take)
#   GRADE_OPTS="..." more options for autograder (set to --unsafe-no-sandbox automatically,
#   with a warning, where bubblewrap cannot sandbox)
# Exit status: the number of stages that failed.

set -o pipefail
export PYTHONUNBUFFERED=1
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3}"
[[ "$PY" == */* ]] && PY="$(cd "$(dirname "$PY")" && pwd)/$(basename "$PY")"   # stages change folder
export COURSE_DEVICE="${COURSE_DEVICE:-cuda}"
export COURSE_PLAIN_PROGRESS=1
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
NB_WORKERS="${NB_WORKERS:-8}"
WORKERS="${WORKERS:-$(nproc)}"
WORK="${GPU_CHECK_WORK:-/tmp/gpu-check-work}"
AUTOGRADER=("$PY" -m autograder.cli)

if [ "${1:-}" = "--stage" ]; then
    LOG="$3"
    GRADE_OPTS="${GRADE_OPTS:-} $(cat "$WORK/grade_opts" 2>/dev/null)"   # the user's, then the sanity stage's
    case "$2" in
    sanity)
        echo "== nvidia-smi"; nvidia-smi 2>&1 || echo "(no nvidia-smi)"
        ls -l /dev/nvidia* 2>&1
        echo "== libcuda as the dynamic linker sees it (the sandbox clears LD_LIBRARY_PATH)"
        ldconfig -p 2>/dev/null | grep -E "libcuda\.so|libnvidia-ml" || echo "(libcuda not in ldconfig's cache)"
        echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
        echo "== python, torch, CUDA, the course's device"
        "$PY" - <<'EOF'
import importlib.metadata as md, os, sys, time
import torch
print(sys.version.split()[0], sys.executable, "prefix", sys.prefix)
print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available(),
      "devices", torch.cuda.device_count())
for name in ("numpy", "matplotlib", "scikit-learn", "pytest", "pytest-xdist", "ipykernel", "ipython",
             "jupyter_client", "nbclient", "nbformat", "nbgrader", "sqlalchemy", "alembic", "pyzmq", "tornado"):
    try:
        print(f"  {name} {md.version(name)}")
    except md.PackageNotFoundError:
        print(f"  {name} MISSING")
from utils.device import pick_device
device = pick_device()
if os.environ["COURSE_DEVICE"].startswith("cuda"):
    print(torch.cuda.get_device_name(0), torch.cuda.get_device_capability(0))
    start = time.perf_counter()
    x = torch.randn(2048, 2048, device=device)
    print("matmul on", (x @ x).device, f"{(x @ x).sum().item():.3g}", f"{time.perf_counter() - start:.2f} s")
import nbgrader.api, nbclient, autograder.grade  # noqa: F401  what the grader imports
EOF
        [ $? -eq 0 ] || exit 3
        echo "== a Jupyter kernel (python3) starts and computes on $COURSE_DEVICE"
        "$PY" - <<'EOF'
import time
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import start_new_kernel
print("kernelspecs:", KernelSpecManager().find_kernel_specs())
start = time.perf_counter()
km, kc = start_new_kernel(kernel_name="python3", startup_timeout=120)
out = []
reply = kc.execute_interactive(
    "import torch\nfrom utils.device import pick_device\nd = pick_device()\n"
    "print('kernel computes on', torch.ones(3, device=d).cumsum(0).device)",
    timeout=120, output_hook=lambda m: out.append(m["content"].get("text", m["content"].get("evalue", ""))))
print("".join(out).strip(), "| status", reply["content"]["status"], f"| {time.perf_counter() - start:.1f} s")
km.shutdown_kernel(now=True)
raise SystemExit(reply["content"]["status"] != "ok")
EOF
        [ $? -eq 0 ] || exit 3
        echo "== the grading sandbox"
        problem="$("$PY" -c 'from autograder.sandbox import isolation_problem as p, gpu_devices as g; print(p() or ""); import sys; print(g(), file=sys.stderr)')"
        if [ -n "$problem" ]; then
            echo "SANDBOX UNAVAILABLE: $problem"
            echo "=> the grading stages run with --unsafe-no-sandbox (no isolation of student code)"
            added="--unsafe-no-sandbox"
        else
            echo "bubblewrap sandboxes here: $(command -v bwrap) $(bwrap --version 2>&1)"
            added=""
        fi
        GRADE_OPTS="$GRADE_OPTS $added"
        echo "$added" > "$WORK/grade_opts"
        if [[ "$COURSE_DEVICE" == cuda* ]]; then
            echo "== CUDA under a data-segment limit like a GPU grading kernel's (RLIMIT_DATA = the interpreter's + 2048 MiB)"
            "$PY" - <<'EOF'
import re, resource, torch
data_kib = int(re.search(r"VmData:\s+(\d+)", open("/proc/self/status").read()).group(1))
resource.setrlimit(resource.RLIMIT_DATA, ((data_kib + 2048 * 1024) * 1024,) * 2)
try:
    print("ok:", torch.ones(3, device="cuda").sum().item(), "with RLIMIT_DATA", data_kib // 1024 + 2048, "MiB")
    torch.ones((3 << 30) // 4)  # 3 GiB of host memory: over the limit
    print("NOT BOUNDED: a 3 GiB host tensor was allocated under the data limit")
except RuntimeError as error:  # noqa: BLE001 -- the point is to see it
    print(f"stopped as it should: {str(error)[:160]}" if "allocate" in str(error)
          else f"CUDA FAILS UNDER RLIMIT_DATA: {type(error).__name__}: {error}")
EOF
        fi
        echo "== one answered assignment graded on $COURSE_DEVICE (default limits)"
        probe() {
            rm -rf "$WORK/probe"
            "$PY" "$REPO/tools/grade_check_batch.py" build "$WORK/probe" 01_manual_gradients >/dev/null \
                && (cd "$WORK/probe" && "${AUTOGRADER[@]}" grade --device "$COURSE_DEVICE" --workers 3 \
                    --no-progress $GRADE_OPTS "$@" 2>&1 | tail -n 25) \
                && "$PY" "$REPO/tools/grade_check_batch.py" verify "$WORK/probe"
        }
        if probe; then exit 0; fi
        "$PY" "$REPO/tools/grade_check_batch.py" errors "$WORK/probe"
        echo "== again without the address-space limit (--memory-mib 0)"
        if probe --memory-mib 0; then
            echo "=> GRADING ON $COURSE_DEVICE FAILS WITH THE DEFAULT --memory-mib AND PASSES WITHOUT IT;"
            echo "   the later grading stages add --memory-mib 0"
            echo "$added --memory-mib 0" > "$WORK/grade_opts"
            exit 1
        fi
        "$PY" "$REPO/tools/grade_check_batch.py" errors "$WORK/probe"
        if [[ "$GRADE_OPTS" != *--unsafe-no-sandbox* ]]; then
            echo "== again outside the sandbox (--unsafe-no-sandbox --memory-mib 0): is it the sandbox?"
            GRADE_OPTS="$GRADE_OPTS --unsafe-no-sandbox"
            if probe --memory-mib 0; then
                echo "=> GRADING ON $COURSE_DEVICE FAILS IN THE SANDBOX AND PASSES OUTSIDE IT;"
                echo "   the later grading stages add --unsafe-no-sandbox --memory-mib 0"
                echo "--unsafe-no-sandbox --memory-mib 0" > "$WORK/grade_opts"
            else
                "$PY" "$REPO/tools/grade_check_batch.py" errors "$WORK/probe"
            fi
        fi
        exit 1
        ;;
    notebooks)
        cd "$REPO" && "$PY" -m pytest tests/test_notebooks.py -k "not committed" -n "$NB_WORKERS" \
            -p no:cacheprovider -q -rA --tb=short --durations=0
        ;;
    mutants)
        # in two runs, so that a stage cut short by its time limit still reports the first half
        # (the report is printed when a run ends); progress on stderr every 10 s
        export TQDM_MININTERVAL=10
        names=($(cd "$REPO/source" && ls -d */ | tr -d /))
        half=$(( (${#names[@]} + 1) / 2 ))
        status=0
        for group in "${names[*]:0:$half}" "${names[*]:$half}"; do
            [ -n "$group" ] || continue
            echo "== autograder mutants $group --device $COURSE_DEVICE --workers $WORKERS $GRADE_OPTS"
            start=$(date +%s)
            "${AUTOGRADER[@]}" mutants $group --device "$COURSE_DEVICE" --workers "$WORKERS" $GRADE_OPTS || status=1
            echo "== $(( $(date +%s) - start )) s"
        done
        exit $status
        ;;
    grade)
        rm -rf "$WORK/course" "$WORK/demo"
        "$PY" "$REPO/tools/grade_check_batch.py" build "$WORK/course" || exit 1
        echo "autograder grade --device $COURSE_DEVICE --workers $WORKERS $GRADE_OPTS"
        start=$(date +%s)
        (cd "$WORK/course" && "${AUTOGRADER[@]}" grade --device "$COURSE_DEVICE" --workers "$WORKERS" \
            --no-progress $GRADE_OPTS)
        graded=$?
        echo "autograder grade: exit $graded, $(( $(date +%s) - start )) s"
        "$PY" "$REPO/tools/grade_check_batch.py" verify "$WORK/course"
        verified=$?
        [ $verified -eq 0 ] || "$PY" "$REPO/tools/grade_check_batch.py" errors "$WORK/course"
        echo "== autograder demo --device $COURSE_DEVICE (in a scratch course)"
        mkdir -p "$WORK/demo" && cp "$REPO/nbgrader_config.py" "$WORK/demo/" \
            && cp -r "$REPO/source" "$REPO/release" "$WORK/demo/"
        start=$(date +%s)
        (cd "$WORK/demo" && "${AUTOGRADER[@]}" demo --device "$COURSE_DEVICE" --workers 7 --no-progress $GRADE_OPTS)
        demo=$?
        echo "autograder demo: exit $demo, $(( $(date +%s) - start )) s"
        [ $graded -eq 0 ] && [ $verified -eq 0 ] && [ $demo -eq 0 ]
        ;;
    *) echo "unknown stage $2"; exit 2 ;;
    esac
    exit $?
fi

LOG="${1:-gpu-check-logs}"
mkdir -p "$LOG" "$WORK"
LOG="$(cd "$LOG" && pwd)"
SUMMARY="$LOG/summary.txt"
: > "$WORK/grade_opts"
{
    echo "gpu_check $(date -u +%FT%TZ) on $(hostname), $(nproc) cores, COURSE_DEVICE=$COURSE_DEVICE"
    if rev=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null); then
        git -C "$REPO" diff --quiet HEAD 2>/dev/null || rev="$rev, with uncommitted changes"
    else
        rev="no git metadata"
    fi
    echo "repo $REPO ($rev)"
} | tee "$SUMMARY"
failed=0
for stage in ${STAGES:-sanity notebooks mutants grade}; do
    case "$stage" in
        sanity) limit="${T_SANITY:-180}" ;; notebooks) limit="${T_NOTEBOOKS:-240}" ;;
        mutants) limit="${T_MUTANTS:-240}" ;; grade) limit="${T_GRADE:-180}" ;; *) limit=60 ;;
    esac
    echo "---- $stage (limit $limit s) $(date -u +%T)" | tee -a "$SUMMARY"
    start=$EPOCHREALTIME
    timeout -k 15 "$limit" bash "$REPO/tools/gpu_check.sh" --stage "$stage" "$LOG" 2>&1 | tee "$LOG/$stage.log"
    rc=$?
    seconds=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
    if [ $rc -eq 0 ]; then verdict=PASS; elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then verdict="TIMEOUT (rc $rc)"; else verdict="FAIL (rc $rc)"; fi
    [ $rc -eq 0 ] || failed=$((failed + 1))
    stop=""
    [ "$stage" = sanity ] && [ $rc -eq 3 ] && stop="python, torch or the Jupyter kernel is not usable: later stages skipped"
    echo "$stage: $verdict in $seconds s" | tee -a "$SUMMARY"
    # each stage's own closing lines (pytest's counts, mutation scores, verify) into the summary
    case "$stage" in
        notebooks) grep -E "passed|failed|error" "$LOG/$stage.log" | tail -n 3 | sed 's/^/    /' >> "$SUMMARY" ;;
        mutants) grep -E "mutation score|✗" "$LOG/$stage.log" | tail -n 20 | sed 's/^/    /' >> "$SUMMARY" ;;
        grade) grep -E "batch verified|problems|PROBLEM|autograder (grade|demo): exit" "$LOG/$stage.log" | sed 's/^/    /' >> "$SUMMARY" ;;
        sanity) grep -E "available|SANDBOX|=>|CUDA FAILS|^ok: |kernel computes|batch verified|problems$" "$LOG/$stage.log" | sed 's/^/    /' >> "$SUMMARY" ;;
    esac
    if [ -n "$stop" ]; then echo "$stop" | tee -a "$SUMMARY"; break; fi
done
echo "grading options added by the sanity stage: '$(cat "$WORK/grade_opts")'" | tee -a "$SUMMARY"
echo "stages failed: $failed" | tee -a "$SUMMARY"
exit $failed
