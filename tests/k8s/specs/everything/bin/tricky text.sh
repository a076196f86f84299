#!/bin/sh
  # indented comment   
   
# a "---" line follows exit, and blank lines end the file
	cat
exit 0
---


