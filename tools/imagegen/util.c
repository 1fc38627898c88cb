#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "ig.h"

static char g_error[512];

ig_status ig_fail(const char *fmt, ...)
{
    if (g_error[0] != '\0')
        return IG_ERR;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_error, sizeof g_error, fmt, ap);
    va_end(ap);
    return IG_ERR;
}

const char *ig_last_error(void)
{
    return g_error[0] ? g_error : "unknown error";
}

uint64_t ig_mix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

void ig_rng_seed(ig_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) {
        x = ig_mix64(x + (uint64_t)i);
        r->s[i] = x;
    }
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* xoshiro256** */
uint64_t ig_rng_next(ig_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t ig_rng_range(ig_rng *r, uint64_t lo, uint64_t hi)
{
    if (hi <= lo)
        return lo;
    uint64_t span = hi - lo + 1;
    if (span == 0)
        return ig_rng_next(r);
    return lo + ig_rng_next(r) % span;
}

/* FILETIME: 100 ns intervals since 1601-01-01 UTC. */
#define IG_EPOCH_DIFF 116444736000000000ull

uint64_t ig_filetime_from(int year, int mon, int day, int h, int m, int s)
{
    struct tm tm = {0};
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = day;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = s;
    time_t t = timegm(&tm);
    return (uint64_t)t * 10000000ull + IG_EPOCH_DIFF;
}

void ig_filetime_iso(uint64_t ft, char out[32])
{
    time_t t = (time_t)((ft - IG_EPOCH_DIFF) / 10000000ull);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
}
