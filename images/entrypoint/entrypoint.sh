#!/bin/sh
# ENTRYPOINT of gitspace-chart/test-entrypoint: leaves a mark that it ran (the
# parity suite's "image ENTRYPOINT" row reads it), then runs the command.
set -eu
printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >>/var/tmp/gitspace-test-entrypoint.ran
exec "$@"
