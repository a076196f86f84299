#!/bin/sh
# café: Latin-1, not UTF-8
printf "%s" "$1"
