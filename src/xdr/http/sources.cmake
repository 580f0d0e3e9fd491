list(APPEND XDR_CORE_SOURCES
  xdr/http/curl_transport.cpp
  xdr/http/log.cpp
  xdr/http/log_policy.cpp
  xdr/http/pipeline.cpp
  xdr/http/redact.cpp
  xdr/http/request_id_policy.cpp
  xdr/http/retry_policy.cpp
)
