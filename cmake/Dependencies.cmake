# Every third-party dependency, found from Debian packages only, exposed as dep_<name>.
# No downloads: scripts/install-deps installs what is missing.
find_package(Threads REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(CURL REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(tl-expected REQUIRED)
find_package(CLI11 REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
find_package(simdjson QUIET)

add_library(dep_threads INTERFACE)
target_link_libraries(dep_threads INTERFACE Threads::Threads)
add_library(dep_ssl INTERFACE)
target_link_libraries(dep_ssl INTERFACE OpenSSL::SSL OpenSSL::Crypto)
add_library(dep_curl INTERFACE)
target_link_libraries(dep_curl INTERFACE CURL::libcurl)
add_library(dep_json INTERFACE)
target_link_libraries(dep_json INTERFACE nlohmann_json::nlohmann_json)
add_library(dep_expected INTERFACE)
target_link_libraries(dep_expected INTERFACE tl::expected)
add_library(dep_cli11 INTERFACE)
target_link_libraries(dep_cli11 INTERFACE CLI11::CLI11)
add_library(dep_sqlite INTERFACE)
target_link_libraries(dep_sqlite INTERFACE SQLite::SQLite3)
# Debian's cpp-httplib is a compiled library whose cflags change the ABI: always go through pkg-config.
add_library(dep_httplib INTERFACE)
target_link_libraries(dep_httplib INTERFACE PkgConfig::HTTPLIB dep_ssl)
# tcmalloc (gperftools' minimal build) for xdr-emulator only. Issuing a token allocates a few hundred
# small blocks from many threads (OpenSSL's bignums, the request and the JSON); glibc's malloc spent
# ~6% of the emulator's CPU there and grew and trimmed its arenas as it went. bench_emulator_tokens:
# +4 to +6 points of the signing-rate ratio and 10% less memory (docs/benchmarks.md). Not with the
# sanitizers, which bring their own allocator.
option(XDR_TCMALLOC "Link xdr-emulator with tcmalloc_minimal" ON)
add_library(dep_fast_malloc INTERFACE)
if(XDR_TCMALLOC AND NOT XDR_ENABLE_ASAN AND NOT XDR_ENABLE_TSAN)
  pkg_check_modules(TCMALLOC REQUIRED libtcmalloc_minimal)
  # Linked by name and kept even under --as-needed: nothing calls it, it replaces malloc by interposition.
  target_link_options(dep_fast_malloc INTERFACE "LINKER:--push-state,--no-as-needed"
                      ${TCMALLOC_LDFLAGS} "LINKER:--pop-state")
endif()
if(simdjson_FOUND)
  add_library(dep_simdjson INTERFACE)
  target_link_libraries(dep_simdjson INTERFACE simdjson::simdjson)
endif()

if(XDR_BUILD_TESTS OR XDR_BUILD_BENCH)
  find_package(GTest REQUIRED)
  add_library(dep_gtest INTERFACE)
  target_link_libraries(dep_gtest INTERFACE GTest::gtest GTest::gmock)
  add_library(dep_gtest_main INTERFACE)
  target_link_libraries(dep_gtest_main INTERFACE GTest::gtest_main GTest::gmock)
endif()
if(XDR_BUILD_BENCH)
  find_package(benchmark REQUIRED)
  add_library(dep_benchmark INTERFACE)
  target_link_libraries(dep_benchmark INTERFACE benchmark::benchmark)
endif()
