# Builds every metroplan binary; compose.yaml runs one per service.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked \
    -p metroplan -p metroplan-plan -p metroplan-monitoring -p metroplan-partnership \
    -p metroplan-projector -p metroplan-gateway

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/metroplan /src/target/release/metroplan-plan \
     /src/target/release/metroplan-monitoring /src/target/release/metroplan-partnership \
     /src/target/release/metroplan-projector /src/target/release/metroplan-gateway /usr/local/bin/
USER 65534:65534
ENTRYPOINT []
