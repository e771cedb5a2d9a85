# syntax=docker/dockerfile:1
# The sa-guard CLI as a container image: a static musl binary on distroless/static, run as a
# non-root user.
#   docker build -t sa-guard .
#   docker run --rm -v "$PWD:/work" sa-guard lint /work/k8s
# The release workflow builds it for linux/amd64 and linux/arm64 as ghcr.io/sa-guard/sa-guard:vX.Y.Z.

# Alpine's Rust targets musl and links statically by default. 1.96: the workspace's lock file
# includes wasmtime 49 (e2e-tests/), which needs it, even though only the CLI is built here.
FROM rust:1.96-alpine AS build
# mimalloc (the CLI's allocator) compiles C.
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY . .
# The `host` profile (Cargo.toml): optimized, without policy.wasm's size-first settings.
RUN cargo build --locked --profile host -p sa-guard-cli \
 && cp target/host/sa-guard /sa-guard \
 && /sa-guard --version

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /sa-guard /usr/local/bin/sa-guard
# distroless's nonroot user (uid 65532).
USER nonroot:nonroot
WORKDIR /work
ENTRYPOINT ["sa-guard"]
CMD ["--help"]
