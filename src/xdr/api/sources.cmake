# The Defender XDR and Graph security API clients. Pages are parsed with simdjson On-Demand (private:
# no public header includes simdjson).
if(NOT TARGET dep_simdjson)
  message(FATAL_ERROR "xdr/api needs simdjson: install libsimdjson-dev (scripts/install-deps)")
endif()
list(APPEND XDR_CORE_SOURCES
  xdr/api/model.cpp
  xdr/api/dialect.cpp
  xdr/api/filter.cpp
  xdr/api/quota.cpp
  xdr/api/endpoints.cpp
  xdr/api/client.cpp
  xdr/api/incidents_client.cpp
  xdr/api/hunting_client.cpp
  xdr/api/model_json.cpp
)
list(APPEND XDR_CORE_PRIVATE_LIBS dep_simdjson)

# simdjson's On-Demand API runs the kernel the translation unit is compiled for (its runtime dispatch
# covers only the DOM API): without flags that is the portable "fallback" kernel, several times slower.
# When the build machine has AVX2 (haswell and later), the parser is compiled for it. Turn this off to
# build binaries for older x86-64 machines.
option(XDR_API_AVX2_PARSER "Compile the API JSON parser for AVX2 when the build machine supports it" ON)
if(XDR_API_AVX2_PARSER AND CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64" AND EXISTS /proc/cpuinfo)
  file(READ /proc/cpuinfo XDR_CPUINFO LIMIT 8192)
  # Every CPU with AVX2 and BMI1 (Haswell, Excavator and later) also has LZCNT, which some hypervisors
  # do not list in /proc/cpuinfo.
  if(XDR_CPUINFO MATCHES " avx2" AND XDR_CPUINFO MATCHES " bmi1" AND XDR_CPUINFO MATCHES " pclmulqdq")
    set_source_files_properties(xdr/api/dialect.cpp PROPERTIES COMPILE_OPTIONS "-mavx2;-mbmi;-mpclmul;-mlzcnt")
    set_property(GLOBAL PROPERTY XDR_API_PARSER_OPTIONS "-mavx2;-mbmi;-mpclmul;-mlzcnt")
  endif()
endif()
