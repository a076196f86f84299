# The Go interop suite (tests/interop/go): the official Apache Pulsar Go client, pinned by its
# go.mod, against Apache Pulsar standalone (interop_go: PULSAR_URL, PULSAR_HTTP and PULSAR_TOKEN,
# and PULSAR_TLS_URL and PULSAR_CA for pulsar+ssl://, from scripts/test.sh) and against
# `shfn broker`, which the suite starts itself, with TLS and a CA of its own
# (interop_go_embedded). tests/interop/go/setup.sh (run by scripts/setup.sh) downloads the
# modules beforehand, so these runs need no network.
find_program(SHFN_GO go HINTS /usr/local/go/bin)
if(NOT SHFN_GO)
  message(STATUS "go not found: the Go interop tests (interop_go, interop_go_embedded) are left out")
  return()
endif()

foreach(variant standalone embedded)
  if(variant STREQUAL "standalone")
    set(name interop_go)
    set(env "SHFN_BIN=$<TARGET_FILE:shfn>")
  else()
    set(name interop_go_embedded)
    set(env "SHFN_BIN=$<TARGET_FILE:shfn>;SHFN_INTEROP_BROKER=embedded")
  endif()
  add_test(NAME ${name}
    COMMAND ${SHFN_GO} test -mod=readonly -count=1 -p 1 -timeout 540s -v ./...
    WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
  set_tests_properties(${name} PROPERTIES TIMEOUT 600 ENVIRONMENT "${env}")
endforeach()
