#!/usr/bin/env bash
# The reverse function in the classic style: the payload as $1 (spec field `input: arg`).
# printf, not echo: a payload such as "-n" must come out as it went in.
printf '%s' "$1" | rev
