# xdr::auth: clouds, credentials, token acquisition, AADSTS errors, consent links, token cache.
list(APPEND XDR_CORE_SOURCES
  xdr/auth/cloud.cpp
  xdr/auth/secret.cpp
  xdr/auth/credential.cpp
  xdr/auth/aadsts.cpp
  xdr/auth/consent.cpp
  xdr/auth/token_client.cpp
  xdr/auth/token_cache.cpp
  xdr/auth/persistent_cache.cpp
  xdr/auth/auth_client.cpp
)
