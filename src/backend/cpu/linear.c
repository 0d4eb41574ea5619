// Placeholder until the kernel lands (in progress this session).
#include "backend/cpu/cpu_ops.h"

const OpImpl cpu_linear = {0};
