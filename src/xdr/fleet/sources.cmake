# xdr::fleet: the fan-out engine (one operation over many tenants), cancellation and progress.
list(APPEND XDR_CORE_SOURCES
  xdr/fleet/cancel.cpp
  xdr/fleet/fan_out.cpp
  xdr/fleet/progress.cpp
)
