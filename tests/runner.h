// The registry of TEST()s and the loop that runs them, shared by the unit test program
// (tests/main.c) and the GPU one (tests/gpu/main.c). Tests run sorted by name (constructor order
// follows link order; sorted, the report is stable and readable), each printing "ok   NAME (ms)"
// or "FAIL NAME (n failed checks)", then the line "N passed, N failed" that CI reads.
#ifndef YOLO_TESTS_RUNNER_H
#define YOLO_TESTS_RUNNER_H

// How many registered tests the arguments select: with none, all; else those whose names contain
// one of argv[1..argc-1].
int test_count_selected(int argc, char **argv);

// Runs the selected tests and prints the report; 0 when none failed, else 1 (an exit status).
int test_run_selected(int argc, char **argv);

#endif
