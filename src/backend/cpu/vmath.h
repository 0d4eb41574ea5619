// Math for the CPU kernels' element-wise loops, written so that GCC can inline it and turn the
// loop into SIMD code: libm's expf is a call per element, and a loop with a call in it never
// vectorises. Also VM_CLONES, which builds a hot loop for AVX2 as well as for baseline x86-64.
//
// Reproducibility: everything here is plain IEEE float arithmetic in the order written. The build
// is -std=c17, where GCC neither reassociates nor contracts a * b + c into an FMA, so the AVX2
// clone and the baseline clone of a loop give the same bits, and a reduction gives the same bits
// when its lanes are spelled out in C (see batchnorm.c). tests/test_ops_elementwise.c checks
// that the SiLU and sigmoid kernels (the AVX2 clone, on a CPU that has AVX2) give the bits of the
// same formula built for the baseline.
#ifndef YOLO_BACKEND_CPU_VMATH_H
#define YOLO_BACKEND_CPU_VMATH_H

#include <stdint.h>

// Put before a function definition: GCC compiles the function for x86-64-v3 (AVX2, FMA, which
// stays unused, see above) and for the baseline, and the dynamic loader picks the clone the CPU
// runs (an ifunc), so one binary runs everywhere. Where ifuncs or the x86-64 levels are missing it
// is an ordinary function. It belongs on the function that holds the hot loop: a function that a
// clone calls without inlining it is not cloned with it (one ifunc call per channel or per chunk
// of work costs nothing).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11 && defined(__x86_64__) && defined(__ELF__)
#define VM_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define VM_CLONES
#endif

static inline uint32_t vm_float_bits(float f) {
    union {
        float f;
        uint32_t u;
    } v = {.f = f};
    return v.u;
}

static inline float vm_bits_float(uint32_t u) {
    union {
        uint32_t u;
        float f;
    } v = {.u = u};
    return v.f;
}

// c ? a : b without a branch. A float ?: in a loop is not enough: GCC threads jumps through it,
// which leaves conditional float arithmetic that may trap (-ftrapping-math, the default), and
// then refuses to vectorise the loop. Integer masks have no such problem.
static inline float vm_select(int c, float a, float b) {
    uint32_t m = -(uint32_t)(c != 0);
    return vm_bits_float((m & vm_float_bits(a)) | (~m & vm_float_bits(b)));
}

static inline int32_t vm_select_int(int c, int32_t a, int32_t b) {
    int32_t m = -(int32_t)(c != 0);
    return (m & a) | (~m & b);
}

// Bounds of vm_expf's input: e^x stays a normal float (>= 2^-126) and finite (< 2^128) for every
// x in between, so no branch is needed for underflow or overflow.
#define VM_EXP_MIN (-87.3f)
#define VM_EXP_MAX 88.3f

// e^x with a relative error of at most a few ulp for x in [VM_EXP_MIN, VM_EXP_MAX]; x outside is
// clamped to that range, so the result is always finite and positive. NaN gives NaN. Branch-free:
// x = n ln2 + r with |r| <= ln2 / 2, e^r from Cephes' degree-6 polynomial, 2^n made from its bits.
static inline float vm_expf(float x) {
    x = vm_select(x < VM_EXP_MIN, VM_EXP_MIN, x);
    x = vm_select(x > VM_EXP_MAX, VM_EXP_MAX, x);
    // Adding 1.5 * 2^23 rounds x / ln2 to the nearest integer n and leaves n in the low mantissa
    // bits of t (two's complement), so n needs no float-to-int conversion (undefined for NaN).
    const float shifter = 12582912.0f;
    float t = x * 1.44269504088896341f + shifter;
    float n = t - shifter;
    // r = x - n ln2 in two steps (Cody and Waite): ln2_hi has 9 significant bits and |n| <= 127,
    // so n * ln2_hi is exact and r keeps its low bits.
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    // 2^n: the biased exponent n + 127 (1..254 after the clamp) shifted into place. t's bits are
    // 0x4B400000 + n, and the shift by 23 drops 0x4B400000 (a multiple of 2^9).
    return p * vm_bits_float((vm_float_bits(t) + 127u) << 23);
}

// 1 / (1 + e^-x): exactly 1 for large x, tiny but positive for very negative x, never NaN for a
// number.
static inline float vm_sigmoidf(float x) { return 1.0f / (1.0f + vm_expf(-x)); }

#endif
