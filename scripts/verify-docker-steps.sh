#!/usr/bin/env bash
# Runs the Dockerfile's build steps without a container engine, for machines (and CI
# jobs) that have cargo but no docker daemon:
#   1. checks the Dockerfile still uses exactly the build and copy commands below;
#   2. runs the same `cargo build` and copies the binary into a staging folder laid
#      out like the runtime image (/usr/local/bin, /data);
#   3. starts the staged binary with `--help` and `check`, as the image's ENTRYPOINT would;
#   4. prints the binary size and an estimate of the image size.
# The dependency-caching steps (cargo chef) only speed up image builds; they change
# nothing in what is built, so they are not repeated here.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_COMMAND='cargo build --release --locked -p bot --bin incidentbot'
COPY_COMMAND='mkdir -p /staging && cp target/release/incidentbot /staging/incidentbot && strip /staging/incidentbot'
# debian:bookworm-slim as published (amd64, uncompressed, about 75 MB) plus ca-certificates and
# the openssl package it pulls in (about 2 MB). A published figure, not a measurement.
BASE_IMAGE_MB=77

fail() { echo "verify-docker-steps: $*" >&2; exit 1; }

# 1. The Dockerfile and this script must agree.
grep -qxF "RUN ${BUILD_COMMAND}" Dockerfile || fail "the Dockerfile's build step is not \`RUN ${BUILD_COMMAND}\`"
grep -qxF "RUN ${COPY_COMMAND}" Dockerfile || fail "the Dockerfile's copy step is not \`RUN ${COPY_COMMAND}\`"
grep -qxF 'COPY --from=builder /staging/incidentbot /usr/local/bin/incidentbot' Dockerfile \
    || fail "the runtime stage does not copy the staged binary to /usr/local/bin"
grep -qxF 'ENTRYPOINT ["incidentbot"]' Dockerfile || fail 'ENTRYPOINT is not ["incidentbot"]'
grep -qxF 'CMD ["serve"]' Dockerfile || fail 'CMD is not ["serve"]'
grep -qF 'DATABASE_URL=sqlite:///data/incidentbot.db' Dockerfile || fail "DATABASE_URL does not point into /data"
grep -qE '^USER incidentbot' Dockerfile || fail "the runtime stage does not switch to the non-root user"
grep -qF 'ca-certificates' Dockerfile || fail "the runtime stage does not install CA certificates"

# 2. The same build, and the same copy into a staging folder.
target_dir="${CARGO_TARGET_DIR:-target}"
echo "+ ${BUILD_COMMAND}"
${BUILD_COMMAND}
staging="$(mktemp -d)"
trap 'rm -rf "$staging"' EXIT
mkdir -p "$staging/usr/local/bin" "$staging/data"
# The Dockerfile's copy step itself, with its folders mapped onto this machine's.
copy="${COPY_COMMAND//\/staging/$staging/usr/local/bin}"
copy="${copy//target\//$target_dir/}"
echo "+ ${copy}"
bash -c "$copy"
binary="$staging/usr/local/bin/incidentbot"

# 3. The staged binary starts, as ENTRYPOINT ["incidentbot"] with its image env.
image_env=(env -i PATH="$staging/usr/local/bin:/usr/bin:/bin" HOME="$staging/data"
    DATABASE_URL="sqlite://$staging/data/incidentbot.db" PORT=8080 RUST_LOG=info)
"${image_env[@]}" incidentbot --help | grep -q "serve" || fail "\`incidentbot --help\` does not list serve"
check_output="$("${image_env[@]}" incidentbot check)" || fail "\`incidentbot check\` failed: ${check_output}"
grep -q "configuration is valid" <<<"$check_output" || fail "\`incidentbot check\` did not validate: ${check_output}"
grep -q "$staging/data/incidentbot.db" <<<"$check_output" || fail "\`incidentbot check\` shows another database"

# 4. Figures.
bytes=$(stat -c %s "$binary")
binary_mb=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }')
image_mb=$(awk -v b="$bytes" -v base="$BASE_IMAGE_MB" 'BEGIN { printf "%.0f", base + b / 1048576 }')
echo "ok: the Dockerfile's build steps work"
echo "release binary: ${binary_mb} MiB (${bytes} bytes)"
echo "runtime image estimate: about ${image_mb} MB (debian:bookworm-slim ~${BASE_IMAGE_MB} MB + the binary; not measured, no container engine)"
