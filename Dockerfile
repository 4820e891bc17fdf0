# syntax=docker/dockerfile:1
#
# linedispatch images (docs/deploy.md):
#
#   target linedispatch (the default, last stage): dispatcher, linesim and
#     producer as static binaries (CGO_ENABLED=0) on distroless/static,
#     running as the non-root user 65532. The entrypoint is the dispatcher;
#     linesim and the gateway override it (see docker-compose.yml):
#       docker run linedispatch run --config /etc/linedispatch/dispatcher.yaml
#       docker run --entrypoint /usr/local/bin/linesim linedispatch --help
#       docker run --entrypoint /usr/local/bin/producer linedispatch serve --help
#
#   target loadtest: k6 (built from its Go module at K6_VERSION), the k6
#     script, the verify step and scripts/k6-compose.sh on Alpine (a shell
#     sequences k6 and verify); non-root 65532 as well.
#
#   docker build -t linedispatch .
#   docker build --target loadtest -t linedispatch-loadtest .

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION} AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-buildvcs=false
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN go build -trimpath -ldflags="-s -w" -o /out/ \
      ./cmd/dispatcher ./cmd/linesim ./cmd/producer ./loadtest/verify

FROM golang:${GO_VERSION} AS k6
ARG K6_VERSION=v1.8.1
ENV CGO_ENABLED=0 GOFLAGS=-buildvcs=false
RUN go install -trimpath -ldflags="-s -w" go.k6.io/k6@${K6_VERSION}

FROM alpine:3.22 AS loadtest
COPY --from=k6 /go/bin/k6 /usr/local/bin/k6
COPY --from=build /out/verify /usr/local/bin/verify
COPY loadtest/k6/ /opt/linedispatch/k6/
COPY scripts/k6-compose.sh /opt/linedispatch/k6-compose.sh
ENV K6_NO_USAGE_REPORT=true
# /results is where docker-compose mounts the k6-results volume: a new volume
# takes this directory's owner, so the non-root user can write to it.
RUN mkdir -p /results && chown 65532:65532 /results
USER 65532:65532
WORKDIR /tmp
ENTRYPOINT ["/bin/sh", "/opt/linedispatch/k6-compose.sh"]

FROM gcr.io/distroless/static-debian12:nonroot AS linedispatch
COPY --from=build /out/dispatcher /out/linesim /out/producer /usr/local/bin/
COPY config/dispatcher.example.yaml /etc/linedispatch/dispatcher.example.yaml
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/dispatcher"]
CMD ["run"]
