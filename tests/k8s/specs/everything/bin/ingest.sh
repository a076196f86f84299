#!/usr/bin/env bash
# Adds a line count to each order.
set -euo pipefail
jq -c --argjson v "${SHFN_CONFIG_VERSION:-1}" ". + {version: \$v}"
