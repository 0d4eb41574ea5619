// The unit test program: runs the registered tests, optionally only those whose names contain one
// of the arguments (tests/runner.h).
#include "runner.h"

int main(int argc, char **argv) { return test_run_selected(argc, argv); }
