// For fuzzing the PNG decoder: rewrites the CRC of every whole chunk of a mutated PNG, so that a
// mutation reaches libpng's chunk parsers and zlib instead of stopping at the CRC check (the
// checkpoint target rewrites its checksum for the same reason, checkpoint_fixup.h). Shared by the
// libFuzzer target and the deterministic fuzz and rejection tests in tests/unit.
#ifndef YOLO_TESTS_FUZZ_PNG_FIXUP_H
#define YOLO_TESTS_FUZZ_PNG_FIXUP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

// The CRC-32 that PNG chunks carry (ISO 3309, reflected, polynomial 0xedb88320).
static inline uint32_t png_crc32(const uint8_t *p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xffffffffu;
}

// In place, for a buffer that starts with the PNG signature (anything else is left alone: the
// decoder refuses it before any chunk).
static inline void png_fix_crcs(uint8_t *b, size_t len) {
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (len < 8 || memcmp(b, sig, 8) != 0) return;
    size_t p = 8;
    while (p + 12 <= len) {
        size_t n = (size_t)b[p] << 24 | (size_t)b[p + 1] << 16 | (size_t)b[p + 2] << 8 | b[p + 3];
        if (n > len - p - 12) return;
        uint32_t crc = png_crc32(b + p + 4, 4 + n);
        for (int i = 0; i < 4; i++) b[p + 8 + n + (size_t)i] = (uint8_t)(crc >> (24 - 8 * i));
        p += 12 + n;
    }
}

#endif
