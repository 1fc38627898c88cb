/* FILETIME (100 ns ticks since 1601-01-01 UTC) to calendar text.  The
 * arithmetic is done here, in UTC, independent of the host's time zone. */
#include "render_impl.h"

#include <stdio.h>

#define TICKS_PER_SECOND 10000000ull
#define DAYS_PER_400_YEARS 146097u
#define DAYS_PER_100_YEARS 36524u   /* a century not ending in a 400th year */
#define DAYS_PER_4_YEARS 1461u

typedef struct civil_time {
    unsigned year, month, day, hour, minute, second, microsecond;
} civil_time;

static int is_leap(unsigned year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

/* 1601 starts a 400-year Gregorian cycle, so the cycle arithmetic needs no
 * offset: within a cycle the last century and, within a century, the last
 * of each four years holds the extra day. */
static int filetime_split(uint64_t filetime, civil_time *out)
{
    uint64_t seconds = filetime / TICKS_PER_SECOND;
    uint64_t days = seconds / 86400;
    unsigned sod = (unsigned)(seconds % 86400);

    uint64_t cycles = days / DAYS_PER_400_YEARS;
    unsigned rem = (unsigned)(days % DAYS_PER_400_YEARS);
    unsigned centuries = rem / DAYS_PER_100_YEARS;
    if (centuries == 4)
        centuries = 3;
    rem -= centuries * DAYS_PER_100_YEARS;
    unsigned quads = rem / DAYS_PER_4_YEARS;
    rem -= quads * DAYS_PER_4_YEARS;
    unsigned years = rem / 365;
    if (years == 4)
        years = 3;
    rem -= years * 365;

    uint64_t year = 1601 + cycles * 400 + centuries * 100 + quads * 4 + years;
    if (year > 9999)
        return -1;

    static const unsigned char month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned month = 0;
    for (; month < 11; month++) {
        unsigned len = month_days[month] + (month == 1 && is_leap((unsigned)year));
        if (rem < len)
            break;
        rem -= len;
    }
    out->year = (unsigned)year;
    out->month = month + 1;
    out->day = rem + 1;
    out->hour = sod / 3600;
    out->minute = sod / 60 % 60;
    out->second = sod % 60;
    out->microsecond = (unsigned)(filetime % TICKS_PER_SECOND / 10);
    return 0;
}

int ms_filetime_valid(uint64_t filetime)
{
    civil_time t;
    return filetime_split(filetime, &t) == 0;
}

static ms_status out_of_range(uint64_t filetime)
{
    return ms_fail(MS_ERR_ARG, "FILETIME 0x%llx is after the year 9999", (unsigned long long)filetime);
}

static ms_status check_written(int n, size_t size)
{
    if (n < 0 || (size_t)n >= size)
        return ms_fail(MS_ERR_ARG, "a %zu-byte buffer is too small for a formatted time", size);
    return MS_OK;
}

ms_status ms_filetime_format_iso(uint64_t filetime, char *buf, size_t size)
{
    civil_time t;
    if (buf == NULL || size == 0)
        return ms_fail(MS_ERR_ARG, "ms_filetime_format_iso needs a buffer");
    if (filetime_split(filetime, &t) != 0)
        return out_of_range(filetime);
    int n;
    if (t.microsecond != 0)
        n = snprintf(buf, size, "%04u-%02u-%02uT%02u:%02u:%02u.%06u+00:00", t.year, t.month, t.day, t.hour,
                     t.minute, t.second, t.microsecond);
    else
        n = snprintf(buf, size, "%04u-%02u-%02uT%02u:%02u:%02u+00:00", t.year, t.month, t.day, t.hour, t.minute,
                     t.second);
    return check_written(n, size);
}

ms_status ms_filetime_format_text(uint64_t filetime, char *buf, size_t size)
{
    civil_time t;
    if (buf == NULL || size == 0)
        return ms_fail(MS_ERR_ARG, "ms_filetime_format_text needs a buffer");
    if (filetime_split(filetime, &t) != 0)
        return out_of_range(filetime);
    int n = snprintf(buf, size, "%04u-%02u-%02u %02u:%02u:%02u UTC", t.year, t.month, t.day, t.hour, t.minute,
                     t.second);
    return check_written(n, size);
}
