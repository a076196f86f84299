#!/usr/bin/env bash
# The reverse function, stdin style: the payload arrives byte-exact on stdin, the output is
# whatever the script prints.
exec rev
