#!/usr/bin/env bash
# Installs the build tree into a temp prefix, then:
#  1. compiles every installed header on its own, with only the installed tree
#     on the include path: a header that includes one that is not installed (or
#     that needs an include it does not make) fails here;
#  2. fails if an installed header includes CAF or an internal header;
#  3. builds a consumer project against the prefix with find_package(serialake)
#     and runs it.
set -euo pipefail
build=$1 consumer=$2
work=$(mktemp -d /tmp/serialake-install.XXXXXX)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
inc=$work/prefix/include
status=0
while IFS= read -r h; do
  rel=${h#"$inc/"}
  if grep -nE '#include[[:space:]]*[<"](caf/|actors/)' "$h"; then
    echo "installed header $rel includes CAF or an actors/ header" >&2
    status=1
  fi
  if ! echo "#include <$rel>" | g++ -std=c++17 -fsyntax-only -I "$inc" -x c++ - 2>"$work/err"; then
    echo "installed header $rel does not compile against the installed tree alone:" >&2
    head -5 "$work/err" >&2
    status=1
  fi
done < <(find "$inc" -name '*.hpp' | sort)
((status == 0)) || exit 1
cmake -S "$consumer" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/build" -j2 >/dev/null
"$work/build/consumer" "$work/ds"
