#!/usr/bin/env bash
# Reads an order as JSON, writes a summary as JSON; keys the output by customer (through the
# metadata file) and says which version of the transform made it (through a property).
set -euo pipefail
summary=$(jq -c '{customer: .customer, items: (.items | length),
                  total: ([.items[] | .price * .qty] | add // 0)}')
customer=$(jq -r '.customer' <<<"$summary")
printf 'key=%s\nproperty.transform-version=%s\n' "$customer" "${SHFN_CONFIG_VERSION:-1}" \
  >>"$SHFN_OUTPUT_METADATA"
printf '%s' "$summary"
