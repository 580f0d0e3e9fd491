# xdr_warnings: the warning set for first-party code; -Werror in dev and CI.
add_library(xdr_warnings INTERFACE)
target_compile_options(xdr_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual
  -Wcast-align -Wformat=2 -Wimplicit-fallthrough
  # Options structs are filled with designated initializers and rely on member defaults.
  -Wno-missing-field-initializers)
if(XDR_WARNINGS_AS_ERRORS)
  target_compile_options(xdr_warnings INTERFACE -Werror)
endif()
