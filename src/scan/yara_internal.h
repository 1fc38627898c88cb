/* Shared between the src/scan/yara_* files. */
#ifndef MS_SCAN_YARA_INTERNAL_H
#define MS_SCAN_YARA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <yara.h>

#include "memsift/yara.h"

struct ms_yara_rules {
    YR_RULES *rules;
    size_t count;
    size_t max_string;      /* longest string, bytes as matched (wide doubles) */
    int from_cache;
};

/* yr_initialize/yr_finalize by reference count, safe across threads. */
ms_status ms_yara_acquire(void);
void ms_yara_release(void);

/* Text of a libyara error code. */
const char *ms_yara_error_name(int code);

/* Fill count and max_string from rules->rules. */
void ms_yara_rules_measure(ms_yara_rules *rules);

/* SHA-256 */
typedef struct ms_sha256 {
    uint32_t h[8];
    uint64_t bytes;
    uint8_t block[64];
    size_t used;
} ms_sha256;

void ms_sha256_init(ms_sha256 *s);
void ms_sha256_update(ms_sha256 *s, const void *data, size_t len);
void ms_sha256_final(ms_sha256 *s, uint8_t digest[32]);

/* Disk cache of compiled rules, keyed by a digest of the sources. */
ms_status ms_yara_cache_load(const char *dir, const uint8_t digest[32], YR_RULES **out);
ms_status ms_yara_cache_save(const char *dir, const uint8_t digest[32], YR_RULES *rules);

#endif
