# Source this (`. tools/gpu_offline_setup.sh`) on a GPU machine WITHOUT network, before
# tools/gpu_check.sh, when the course's packages are not installed there. It is not needed
# where `pip install -e .` (with a CUDA build of torch) and bubblewrap are installed normally.
#
# It installs, into the environment of $PYTHON (default python3), the wheels carried in .whl/
# (no index, no dependencies resolved: .whl/ must hold every missing package, one version each;
# torch, numpy and the rest of the machine's own packages are used as they are), and, when
# bubblewrap is missing, unpacks the .deb files carried in .deb/ into a private folder (never
# into /) and puts its bwrap on PATH.
#
# Why into the interpreter's own environment and not `pip install --target DIR` + PYTHONPATH:
# the grading sandbox starts Python with a cleared environment and binds only the interpreter's
# prefix and its site-packages folders (autograder/sandbox.py), so packages reachable only
# through PYTHONPATH would be missing inside the sandbox.
#
# Wheels for Python 3.12 on x86-64, from a machine with network (versions: `pip freeze` of the
# course's .venv, less torch, numpy and what the GPU machine already has):
#   pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 -d .whl NAME==VERSION ...
# bubblewrap and its libraries: apt-get download bubblewrap libcap2 libselinux1 libpcre2-8-0 (in .deb/)

PYTHON="${PYTHON:-python3}"
_setup_root="$(pwd)"

if ls "$_setup_root"/.whl/*.whl >/dev/null 2>&1; then
    echo "gpu_offline_setup: installing $(ls "$_setup_root"/.whl/*.whl | wc -l) carried wheels into $($PYTHON -c 'import sys; print(sys.prefix)')"
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --disable-pip-version-check \
        --upgrade "$_setup_root"/.whl/*.whl || echo "gpu_offline_setup: WHEEL INSTALL FAILED"
    # the course itself, so `autograder` is a command and the sandbox finds `utils`
    "$PYTHON" -m pip install -q --no-index --no-deps --no-build-isolation --no-cache-dir --disable-pip-version-check \
        -e "$_setup_root" >/dev/null 2>&1 || echo "gpu_offline_setup: pip install -e . failed; PYTHONPATH is used instead"
fi
# A kernelspec named python3 for nbclient, in the interpreter's own prefix.
"$PYTHON" -m ipykernel install --sys-prefix --name python3 >/dev/null 2>&1 \
    || echo "gpu_offline_setup: ipykernel install --sys-prefix failed"

# The grading sandbox clears the environment, so the CUDA driver library must be found by the
# dynamic linker's cache, not only through LD_LIBRARY_PATH (as in some GPU containers).
if ! ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1'; then
    for _dir in ${LD_LIBRARY_PATH//:/ } /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/wsl/lib; do
        if [ -e "$_dir/libcuda.so.1" ]; then
            echo "gpu_offline_setup: libcuda.so.1 is only in $_dir (LD_LIBRARY_PATH='${LD_LIBRARY_PATH:-}'):" \
                 "adding it to the linker's cache, or the sandboxed kernels cannot load it"
            echo "$_dir" > /etc/ld.so.conf.d/zz-gpu-check-libcuda.conf && ldconfig
            break
        fi
    done
fi

if ! command -v bwrap >/dev/null 2>&1 && ls "$_setup_root"/.deb/*.deb >/dev/null 2>&1; then
    _bwrap_root=/tmp/carried-bwrap
    mkdir -p "$_bwrap_root"
    for _deb in "$_setup_root"/.deb/*.deb; do dpkg -x "$_deb" "$_bwrap_root"; done
    export PATH="$_bwrap_root/usr/bin:$PATH"
    if ! bwrap --version >/dev/null 2>&1; then
        # the machine lacks one of bwrap's libraries: use the carried ones, for bwrap alone
        mv "$_bwrap_root/usr/bin/bwrap" "$_bwrap_root/usr/bin/bwrap.real"
        _libs="$_bwrap_root/lib/x86_64-linux-gnu:$_bwrap_root/usr/lib/x86_64-linux-gnu"
        printf '#!/bin/sh\nLD_LIBRARY_PATH=%s exec %s "$@"\n' "$_libs" "$_bwrap_root/usr/bin/bwrap.real" \
            > "$_bwrap_root/usr/bin/bwrap"
        chmod +x "$_bwrap_root/usr/bin/bwrap"
    fi
    echo "gpu_offline_setup: carried bubblewrap: $(bwrap --version 2>&1)"
fi
unset _setup_root _bwrap_root _deb _libs _dir
