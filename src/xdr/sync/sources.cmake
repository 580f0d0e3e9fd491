# xdr::sync: incremental incident sync (IncidentFeed -> Store) by watermark with an overlap window.
list(APPEND XDR_CORE_SOURCES
  xdr/sync/sync_engine.cpp
  xdr/sync/api_feed.cpp
)
