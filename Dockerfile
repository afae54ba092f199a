# syntax=docker/dockerfile:1
# incidentbot: a multi-stage build.
#   1. planner: reduce the workspace to a dependency recipe (cargo-chef).
#   2. builder: build the dependencies from the recipe (a cached layer that only
#      changes with Cargo.toml / Cargo.lock), then the bot itself.
#   3. runtime: debian slim with CA certificates, a non-root user, and the binary.
# scripts/verify-docker-steps.sh runs the build and copy steps without a container
# engine and checks this file still uses the same commands.

ARG RUST_VERSION=1.94
ARG CARGO_CHEF_VERSION=0.1.78

FROM rust:${RUST_VERSION}-slim-bookworm AS chef
ARG CARGO_CHEF_VERSION
RUN cargo install cargo-chef --locked --version ${CARGO_CHEF_VERSION}
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json -p bot --bin incidentbot
COPY . .
RUN cargo build --release --locked -p bot --bin incidentbot
RUN mkdir -p /staging && cp target/release/incidentbot /staging/incidentbot && strip /staging/incidentbot

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 incidentbot \
    && useradd --system --uid 10001 --gid incidentbot --home-dir /data --shell /usr/sbin/nologin incidentbot \
    && mkdir -p /data \
    && chown incidentbot:incidentbot /data
COPY --from=builder /staging/incidentbot /usr/local/bin/incidentbot
USER incidentbot:incidentbot
WORKDIR /data
ENV DATABASE_URL=sqlite:///data/incidentbot.db \
    PORT=8080 \
    RUST_LOG=info
VOLUME ["/data"]
EXPOSE 8080
ENTRYPOINT ["incidentbot"]
CMD ["serve"]
