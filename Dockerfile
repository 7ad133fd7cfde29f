# metrics-governor image: build stage with the same Debian packages as scripts/install-deps.sh,
# runtime stage with only the shared libraries the binary links.
#   docker build -t metrics-governor .
#   docker run -p 9090:9090 metrics-governor -log-format=text
FROM debian:bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake make pkg-config ca-certificates \
      libboost1.81-dev prometheus-cpp-dev zlib1g-dev nlohmann-json3-dev libyaml-cpp-dev \
      libspdlog-dev libcli11-dev libsnappy-dev libxxhash-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DMG_BUILD_TESTS=OFF -DMG_BUILD_BENCH=OFF \
 && cmake --build /build -j"$(nproc)" --target metrics-governor \
 && strip /build/metrics-governor

FROM debian:bookworm
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates libyaml-cpp0.7 libspdlog1.10 libfmt9 libprometheus-cpp-core1.0 libsnappy1v5 \
      libxxhash0 zlib1g libssl3 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 65532 --no-create-home --shell /usr/sbin/nologin metrics-governor \
 && mkdir -p /data/bloom-state /etc/metrics-governor \
 && chown 65532:65532 /data/bloom-state && chmod 0700 /data/bloom-state
COPY --from=build /build/metrics-governor /usr/local/bin/metrics-governor
COPY config/metrics-governor.yaml /etc/metrics-governor/metrics-governor.yaml
USER 65532:65532
VOLUME /data/bloom-state
EXPOSE 9090
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/metrics-governor"]
