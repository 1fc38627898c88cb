/* Messages on stderr: "memsift: warning: ...".  Messages may quote image
 * bytes, so control characters are replaced before they reach a terminal. */
#include <stdio.h>

#include "cli.h"

static void put_sanitized(const char *message)
{
    for (const unsigned char *p = (const unsigned char *)message; *p != '\0'; p++)
        fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, stderr);
}

void cli_print_error(const char *message)
{
    fputs("memsift: ", stderr);
    put_sanitized(message[0] != '\0' ? message : "failed (no reason given)");
    fputc('\n', stderr);
}

void cli_log(void *user, ms_log_level level, const char *message)
{
    cli_term *t = user;
    const char *prefix;
    switch (level) {
    case MS_LOG_DEBUG: prefix = "debug"; break;
    case MS_LOG_INFO: prefix = "info"; break;
    case MS_LOG_WARNING: prefix = "warning"; break;
    default: prefix = "error"; break;
    }
    if (level == MS_LOG_WARNING && t->quiet)
        return;
    if (level < MS_LOG_WARNING && (!t->verbose || t->quiet))
        return;
    cli_progress_clear(t);
    fprintf(stderr, "memsift: %s: ", prefix);
    put_sanitized(message);
    fputc('\n', stderr);
}
