#!/bin/sh
exec tr a-z A-Z
