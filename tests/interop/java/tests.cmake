# The Java interop suite (tests/interop/java): the official Apache Pulsar Java client and
# Pulsar's own pulsar-client / pulsar-perf CLIs, as JUnit 5 tests run by Maven Surefire.
# Included from tests/CMakeLists.txt. tests/interop/java/setup.sh (called by scripts/setup.sh)
# resolves every Maven artifact beforehand, so the runs here are offline (-o).
set(SHFN_MVN "mvn" CACHE STRING "Maven for the Java interop suite")
set(_shfn_java_interop ${CMAKE_CURRENT_LIST_DIR})

# Against Apache Pulsar standalone (PULSAR_URL, PULSAR_HTTP, PULSAR_TOKEN from scripts/test.sh),
# then against `shfn broker` (the suite starts it). Each run compiles into a build directory
# of its own; the lock keeps the two JVM-heavy runs from overlapping on small CI machines.
foreach(_broker standalone embedded)
  if(_broker STREQUAL "standalone")
    set(_name interop_java)
    set(_env "SHFN_BIN=$<TARGET_FILE:shfn>")
  else()
    set(_name interop_java_embedded)
    set(_env "SHFN_BIN=$<TARGET_FILE:shfn>;SHFN_INTEROP_BROKER=embedded")
  endif()
  add_test(NAME ${_name}
    COMMAND ${SHFN_MVN} -o -q -B -Dstyle.color=never -f ${_shfn_java_interop}/pom.xml test
      -Dshfn.build.dir=${CMAKE_CURRENT_BINARY_DIR}/interop-java-${_broker}
    WORKING_DIRECTORY ${_shfn_java_interop})
  set_tests_properties(${_name} PROPERTIES TIMEOUT 600 RESOURCE_LOCK shfn_interop_java
    ENVIRONMENT "${_env}")
endforeach()
# The standalone run must not inherit an SHFN_INTEROP_BROKER from the caller's environment.
set_tests_properties(interop_java PROPERTIES
  ENVIRONMENT_MODIFICATION "SHFN_INTEROP_BROKER=unset:")
