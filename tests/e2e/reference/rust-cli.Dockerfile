FROM rust:1.75 AS build
WORKDIR /app
COPY . .
RUN cargo build --release --locked

FROM gcr.io/distroless/cc-debian12:nonroot
WORKDIR /app
COPY --from=build /app/target/release/tstat ./target/release/tstat
CMD ["./target/release/tstat", "--top", "3"]
