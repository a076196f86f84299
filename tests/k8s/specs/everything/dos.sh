#!/bin/sh
# written on Windows
cat
