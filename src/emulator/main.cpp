#include <emulator/cli.hpp>

int main(int argc, char** argv) { return xdr::emulator::run_main(argc, argv); }
