list(APPEND XDR_CORE_SOURCES
  xdr/api/model.cpp
)
