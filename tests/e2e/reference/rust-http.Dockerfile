FROM rust:1.75 AS build
WORKDIR /usr/src/status-server
COPY Cargo.toml Cargo.lock ./
RUN mkdir src && echo 'fn main() {}' > src/main.rs && cargo build --release && rm -rf src
COPY . .
RUN touch src/main.rs && cargo build --release

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --no-create-home app
WORKDIR /usr/src/status-server
COPY --from=build /usr/src/status-server/target/release/status-server ./target/release/status-server
ENV BIND_ADDR=0.0.0.0:8080
EXPOSE 8080
USER app
CMD ["./target/release/status-server"]
