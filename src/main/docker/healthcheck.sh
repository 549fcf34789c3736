#!/bin/bash
# The image's HEALTHCHECK: GET /q/health/live, healthy on HTTP 200.
#
# bash and its /dev/tcp instead of curl: minimal JRE bases (Debian minbase + openjdk-17-jre-headless,
# the image CI builds) have no curl or wget, while bash is in all the usual JRE bases (Debian,
# Temurin/Ubuntu, UBI). A java-based probe would start a second JVM (~40 MB RSS, ~0.5 s of CPU)
# inside the container's memory limit at every interval.
port="${QUARKUS_HTTP_PORT:-8080}"
exec 3<>"/dev/tcp/127.0.0.1/${port}" || exit 1
printf 'GET /q/health/live HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&3
# First line: HTTP/1.1 200 OK. The Docker/podman --timeout bounds this too.
IFS=' ' read -r -t 5 _ status _ <&3 || exit 1
exec 3>&-
[ "${status}" = "200" ]
