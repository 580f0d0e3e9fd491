# xdr_warnings: the warning set for first-party code; -Werror in dev and CI.
add_library(xdr_warnings INTERFACE)
target_compile_options(xdr_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual
  -Wcast-align -Wformat=2 -Wimplicit-fallthrough)
if(XDR_WARNINGS_AS_ERRORS)
  target_compile_options(xdr_warnings INTERFACE -Werror)
endif()
