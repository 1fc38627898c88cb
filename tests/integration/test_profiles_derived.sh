#!/usr/bin/env bash
# The committed profiles/ must be exactly what tools/profiles derives from
# the symbol tables in ../shared/isf (skipped when ../shared is absent).
set -euo pipefail
shared=${MEMSIFT_SHARED:-}
if [ -z "$shared" ] || [ ! -d "$shared/isf/windows" ]; then
  echo "SKIP: ../shared/isf is absent; cannot re-derive profiles/ from the symbol tables"
  exit 77
fi
py=/usr/bin/python3
[ -x "$py" ] || py=python3
exec "$py" "$MEMSIFT_SRC/tools/profiles/derive_all.py" --shared "$shared" --check
