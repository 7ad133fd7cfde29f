# metrics-governor image. Build stage: the same Debian packages as scripts/install-deps.sh and
# CMake. Runtime stage: from scratch, only the binary, the shared libraries it links, the CA
# certificates, a non-root user (uid 65532) and a volume for the Bloom state. About 25 MB.
#   docker build -t metrics-governor .            (here: docker build --network host -t ...)
#   docker run -v mg-state:/data/bloom-state -p 4317:4317 -p 4318:4318 -p 9090:9090 metrics-governor \
#       -bloom-persistence-enabled=true -bloom-persistence-path=/data/bloom-state
FROM debian:bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake make pkg-config ca-certificates \
      libboost1.81-dev prometheus-cpp-dev zlib1g-dev nlohmann-json3-dev libyaml-cpp-dev \
      libspdlog-dev libcli11-dev libsnappy-dev libxxhash-dev libssl-dev libhiredis-dev \
      libgrpc++-dev lld \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DMG_BUILD_TESTS=OFF -DMG_BUILD_BENCH=OFF \
 && cmake --build /build -j"$(nproc)" --target metrics-governor \
 && strip /build/metrics-governor /build/metrics-governor-grpc.so

# The runtime file system, assembled here so the image holds nothing else: the binary and its
# gRPC plugin (where the daemon looks for it: ../lib/metrics-governor beside bin), exactly the
# shared libraries `ldd` lists for either (at their paths, symlinks resolved), the CA bundle where
# OpenSSL looks for it, and passwd/group entries for the non-root user. No shell, no package
# manager: a Debian base image alone is larger than the 150 MB this image must stay under.
# glibc 2.36 has the files and dns NSS modules built in, so host names resolve without more.
RUN set -eu; r=/rootfs; \
    mkdir -p $r/usr/local/bin $r/usr/local/lib/metrics-governor $r/etc/ssl/certs $r/usr/lib/ssl $r/etc/metrics-governor $r/data/bloom-state $r/tmp; \
    cp /build/metrics-governor $r/usr/local/bin/; \
    cp /build/metrics-governor-grpc.so $r/usr/local/lib/metrics-governor/; \
    for lib in $(ldd /build/metrics-governor /build/metrics-governor-grpc.so | awk '/=>/ { print $3 } /ld-linux/ { print $1 }' | sort -u); do \
      mkdir -p "$r$(dirname "$lib")" && cp -L "$lib" "$r$lib"; \
    done; \
    cp /etc/ssl/certs/ca-certificates.crt $r/etc/ssl/certs/; \
    ln -s /etc/ssl/certs $r/usr/lib/ssl/certs; \
    ln -s /etc/ssl/certs/ca-certificates.crt $r/usr/lib/ssl/cert.pem; \
    printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nmetrics-governor:x:65532:65532:metrics-governor:/data:/usr/sbin/nologin\n' > $r/etc/passwd; \
    printf 'root:x:0:\nmetrics-governor:x:65532:\n' > $r/etc/group; \
    printf 'hosts: files dns\n' > $r/etc/nsswitch.conf; \
    chmod 1777 $r/tmp; chmod 0700 $r/data/bloom-state; chown -R 65532:65532 $r/data
COPY config/metrics-governor.yaml config/limits.example.yaml /rootfs/etc/metrics-governor/

FROM scratch
COPY --from=build /rootfs /
# Ownership is not carried by COPY: the state directory must belong to the user (a new named
# volume takes its owner and mode from here).
COPY --from=build --chown=65532:65532 /rootfs/data /data
USER 65532:65532
# The default -bloom-persistence-path is ./bloom-state: from /data that is the volume.
WORKDIR /data
VOLUME /data/bloom-state
# 4318: ingest (OTLP/HTTP and remote write); 4317: OTLP/gRPC; 9090: /metrics, /live, /ready,
# /api/v1/cardinality.
EXPOSE 4317 4318 9090
# The binary asks its own /live on -stats-addr's default port (the image has no curl, no shell);
# a container started with another -stats-addr needs its own check:
#   docker run --health-cmd 'metrics-governor healthcheck -stats-addr=:PORT' ...
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/metrics-governor", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/metrics-governor"]
