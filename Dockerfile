# Build: docker build -t dialticket .
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin dialticket

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /src/target/release/dialticket /usr/local/bin/dialticket
COPY dialplans ./dialplans
COPY mail-templates ./mail-templates
COPY prompts ./prompts
COPY events ./events
# 8081, the admin listener (back office, admin API, /metrics), is deliberately not
# exposed: reach it on a private network only (see compose.yaml).
EXPOSE 5060/udp 5060/tcp 8080
CMD ["dialticket", "serve"]
