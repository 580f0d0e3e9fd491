# xdr::store: the Store interface and its SQLite implementation (tenant registry, incidents, watermarks).
list(APPEND XDR_CORE_SOURCES
  xdr/store/store.cpp
  xdr/store/sqlite_store.cpp
)
