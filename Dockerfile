# syntax=docker/dockerfile:1.7
#
# Container images for the Danawa scraper (see docs/OPERATING.md).
#
#   docker build -t electrokerot:dev .                 # the app image: all four binaries
#   docker build -t electrokerot-tor:dev --target tor .  # the Tor proxy (compose service / k8s sidecar)
#
# Dependency caching: cargo-chef compiles the dependency graph from a recipe that only changes
# when a Cargo.toml or Cargo.lock changes, so editing a crate's source rebuilds only the
# workspace crates. BuildKit cache mounts keep the registry between builds as well.

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm
ARG CARGO_CHEF_VERSION=0.1.78
ARG BINS="producer crawler-worker updater-worker danawa-sim"

# ---------------------------------------------------------------------------------------------
FROM rust:${RUST_VERSION}-slim-${DEBIAN_RELEASE} AS chef
ARG CARGO_CHEF_VERSION
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    cargo install cargo-chef --locked --version "${CARGO_CHEF_VERSION}"
WORKDIR /src

# ---------------------------------------------------------------------------------------------
FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

# ---------------------------------------------------------------------------------------------
FROM chef AS builder
ARG BINS
COPY --from=planner /src/recipe.json recipe.json
# Dependencies only: this layer is reused until Cargo.toml/Cargo.lock change.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    set -eu; pkgs=""; for b in ${BINS}; do pkgs="$pkgs -p $b"; done; \
    cargo chef cook --release --locked --recipe-path recipe.json $pkgs
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    set -eu; pkgs=""; for b in ${BINS}; do pkgs="$pkgs -p $b"; done; \
    cargo build --release --locked --bins $pkgs; \
    mkdir -p /out; \
    for b in ${BINS}; do install -m 0755 "target/release/$b" "/out/$b"; done

# ---------------------------------------------------------------------------------------------
# Tor: SOCKS5 on 9050 and an authenticated control port on 9051. The control password comes
# from TOR_CONTROL_PASSWORD at start-up and is hashed then (deploy/tor/entrypoint.sh); the
# image holds no secret.
FROM debian:${DEBIAN_RELEASE}-slim AS tor
RUN set -eu; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tor ca-certificates; \
    rm -rf /var/lib/apt/lists/*; \
    groupadd --system --gid 10002 tor-run; \
    useradd --system --uid 10002 --gid tor-run --home-dir /var/lib/tor-run --shell /usr/sbin/nologin tor-run; \
    install -d -o tor-run -g tor-run -m 0700 /var/lib/tor-run
COPY --chmod=0755 deploy/tor/entrypoint.sh /usr/local/bin/tor-entrypoint
COPY --chmod=0755 deploy/tor/healthcheck.sh /usr/local/bin/tor-healthcheck
COPY --chmod=0644 deploy/tor/torrc /etc/tor/torrc.base
USER 10002:10002
ENV TOR_DATA_DIR=/var/lib/tor-run/data TOR_RUN_DIR=/tmp \
    TOR_SOCKS_ADDR=0.0.0.0:9050 TOR_CONTROL_ADDR=0.0.0.0:9051
EXPOSE 9050 9051
VOLUME ["/var/lib/tor-run"]
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 CMD ["/usr/local/bin/tor-healthcheck"]
ENTRYPOINT ["/usr/local/bin/tor-entrypoint"]

# ---------------------------------------------------------------------------------------------
# The app image (default target): producer, crawler-worker, updater-worker and danawa-sim.
FROM debian:${DEBIAN_RELEASE}-slim AS runtime
RUN set -eu; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates; \
    rm -rf /var/lib/apt/lists/*; \
    groupadd --system --gid 10001 ek; \
    useradd --system --uid 10001 --gid ek --no-create-home --shell /usr/sbin/nologin ek
COPY --from=builder /out/ /usr/local/bin/
COPY --chmod=0755 deploy/healthcheck.sh /usr/local/bin/ek-healthcheck
COPY --chmod=0644 deploy/scrapConfig.offline.json /config/scrapConfig.offline.json
COPY --chmod=0644 deploy/scrapConfig.json /config/scrapConfig.json
USER 10001:10001
WORKDIR /tmp
ENV EK_HTTP_ADDR=0.0.0.0:9100 EK_LOG_FORMAT=json
EXPOSE 9100
# Workers answer /healthz on EK_HTTP_ADDR; danawa-sim and the one-shot producer override or
# disable this in compose (see docker-compose.yml).
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 CMD ["/usr/local/bin/ek-healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT []
CMD ["crawler-worker", "run"]
