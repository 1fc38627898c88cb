# Shared by the CLI integration tests: source it, then call cli_test_init NAME.
#   cli_test_init NAME  skip (exit 77) unless $MEMSIFT is the built binary;
#                       make $TMP (removed on exit); reset $failures
#   fail MESSAGE        count and print a failure
#   run ARGS...         run memsift; sets $out, $err and $rc

cli_test_init() {
    if [ -z "${MEMSIFT:-}" ] || [ ! -x "$MEMSIFT" ]; then
        echo "skipping: \$MEMSIFT does not name the built memsift binary"
        exit 77
    fi
    TMP="${MEMSIFT_TEST_TMP:-/tmp}/$1.$$"
    mkdir -p "$TMP" || exit 1
    trap 'rm -rf "$TMP"' EXIT
    failures=0
}

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

run() {
    "$MEMSIFT" "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    out=$(cat "$TMP/out")
    err=$(cat "$TMP/err")
}
