# xdr::validate — Entra access-token validation (JWKS key store, TokenValidator).
# The hot path parses token JSON with simdjson (nlohmann costs more than the RSA verify budget allows).
if(NOT TARGET dep_simdjson)
  message(FATAL_ERROR "xdr/validate needs simdjson: install libsimdjson-dev (scripts/install-deps)")
endif()
list(APPEND XDR_CORE_SOURCES
  xdr/validate/jwks.cpp
  xdr/validate/token_validator.cpp
)
list(APPEND XDR_CORE_PRIVATE_LIBS dep_simdjson)
