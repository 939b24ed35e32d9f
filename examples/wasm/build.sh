#!/usr/bin/env bash
# Rebuild the WebAssembly example apps: each NAME.c here becomes NAME.wasm beside it.
#
#   examples/wasm/build.sh            rebuild all of them
#   examples/wasm/build.sh control    rebuild only control.wasm
#
# Needs clang, lld, wasi-libc and the wasm32 compiler-rt builtins; on Debian:
#   apt-get install clang lld wasi-libc libclang-rt-dev-wasm32
# The built .wasm files are committed, so nothing else in the project needs the compiler.
# Environment: CC (default: clang), WASI_SYSROOT (default: the first of /usr/share/wasi-sysroot
# and /usr that holds wasi-libc).
set -euo pipefail

cd "$(dirname "$0")"

COMMANDS=(hello nbody status big spin)                   # WASI commands: main(), exported as _start
REACTORS=(control filter runaway trap server)   # reactors: init/notified/protected

INSTALL_HINT="install the toolchain with: apt-get install clang lld wasi-libc libclang-rt-dev-wasm32"

CC=${CC:-clang}
if ! command -v "$CC" >/dev/null 2>&1; then
    echo "build.sh: '$CC' not found; $INSTALL_HINT" >&2
    exit 1
fi

if [[ -z ${WASI_SYSROOT:-} ]]; then
    for candidate in /usr/share/wasi-sysroot /usr; do
        if [[ -f $candidate/lib/wasm32-wasi/libc.a ]]; then
            WASI_SYSROOT=$candidate
            break
        fi
    done
fi
if [[ -z ${WASI_SYSROOT:-} ]]; then
    echo "build.sh: no wasi-libc found (looked for lib/wasm32-wasi/libc.a under" \
        "/usr/share/wasi-sysroot and /usr; set WASI_SYSROOT); $INSTALL_HINT" >&2
    exit 1
fi

CFLAGS=(--target=wasm32-wasi "--sysroot=$WASI_SYSROOT" -O2 -Wall -Wextra -Iinclude)
LDFLAGS=(-Wl,--strip-all)
REACTOR_FLAGS=(-mexec-model=reactor)

# A quick probe, so that a missing linker or compiler-rt fails here with a clear message rather
# than in the middle of the build.
probe_dir=$(mktemp -d)
trap 'rm -rf "$probe_dir"' EXIT
printf 'int main(void) { return 0; }\n' >"$probe_dir/probe.c"
if ! "$CC" "${CFLAGS[@]}" "${LDFLAGS[@]}" "$probe_dir/probe.c" -o "$probe_dir/probe.wasm" \
    2>"$probe_dir/err"; then
    cat "$probe_dir/err" >&2
    echo "build.sh: $CC cannot build a wasm32-wasi program (sysroot $WASI_SYSROOT);" \
        "$INSTALL_HINT" >&2
    exit 1
fi

wanted=("$@")
is_wanted() {
    local name=$1 w
    [[ ${#wanted[@]} -eq 0 ]] && return 0
    for w in "${wanted[@]}"; do
        [[ $w == "$name" || $w == "$name.c" || $w == "$name.wasm" ]] && return 0
    done
    return 1
}

build() {
    local name=$1
    shift
    local cmd=("$CC" "${CFLAGS[@]}" "$@" "$name.c" -o "$name.wasm" "${LDFLAGS[@]}")
    echo "+ ${cmd[*]}"
    "${cmd[@]}"
    chmod 644 "$name.wasm"
}

echo "build.sh: $("$CC" --version | head -n 1), sysroot $WASI_SYSROOT"
built=0
for name in "${COMMANDS[@]}"; do
    if is_wanted "$name"; then build "$name"; built=$((built + 1)); fi
done
for name in "${REACTORS[@]}"; do
    if is_wanted "$name"; then build "$name" "${REACTOR_FLAGS[@]}"; built=$((built + 1)); fi
done
if [[ $built -eq 0 ]]; then
    echo "build.sh: no app named: $*; apps: ${COMMANDS[*]} ${REACTORS[*]}" >&2
    exit 1
fi
echo "build.sh: built $built module(s)"
