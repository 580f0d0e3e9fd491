#include <cli/cli.hpp>

int main(int argc, char** argv) { return xdr::cli::run(argc, argv); }
