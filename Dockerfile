# restage's own image: a build stage with the Rust toolchain, a distroless runtime with only
# the binary. Usage: docker run --rm -v "$PWD:/src" -w /src restage --check .
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src ./src
COPY transforms ./transforms
# Cargo.toml declares the benches and the e2e test target, so cargo wants their sources present.
COPY benches ./benches
COPY tests/e2e.rs ./tests/e2e.rs
RUN cargo build --release --locked --bin restage

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/restage /usr/local/bin/restage
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/restage"]
