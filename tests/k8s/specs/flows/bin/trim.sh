#!/bin/sh
exec sed -e "s/^ *//" -e "s/ *$//"
