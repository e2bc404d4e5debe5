#!/usr/bin/env bash
# Installs the build tree into a temp prefix, builds a consumer project against it
# with find_package(serialake), and runs it.
set -euo pipefail
build=$1 consumer=$2
work=$(mktemp -d /tmp/serialake-install.XXXXXX)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$consumer" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/build" -j2 >/dev/null
"$work/build/consumer" "$work/ds"
