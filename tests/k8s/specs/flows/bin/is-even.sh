#!/bin/sh
# Passes an event whose data ends with an even digit (before a closing brace).
data=$(cat)
case "$data" in
*[02468] | *[02468]}) printf %s "$data" ;;
esac
