# The real Prometheus Alertmanager, for the alerts tests: Debian's package, installed
# when missing. Exports ALERTMANAGER_BIN; the test starts its own instance on loopback
# with a throwaway config and data directory, so nothing is started here.
alertmanager_bin="$(command -v prometheus-alertmanager || true)"
if [ -z "$alertmanager_bin" ]; then
    apt_install prometheus-alertmanager
    alertmanager_bin="$(command -v prometheus-alertmanager || true)"
fi
if [ -n "$alertmanager_bin" ]; then
    export ALERTMANAGER_BIN="$alertmanager_bin"
    echo "alertmanager: $("$ALERTMANAGER_BIN" --version 2>&1 | head -1)"
fi
