/* A progress bar on stderr, drawn only when stderr is a terminal, at most
 * ten times a second, and erased when done or before a message. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define BAR_WIDTH 30
#define REDRAW_MS 100

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void cli_term_init(cli_term *t, int quiet, int verbose, const char *label)
{
    t->quiet = quiet;
    t->verbose = verbose;
    t->progress_enabled = !quiet && isatty(STDERR_FILENO);
    t->label = label;
    t->bar_len = 0;
    t->last_draw_ms = 0;
}

void cli_progress(void *user, uint64_t done, uint64_t total)
{
    cli_term *t = user;
    if (!t->progress_enabled || total == 0)
        return;
    uint64_t now = now_ms();
    if (t->bar_len > 0 && now - t->last_draw_ms < REDRAW_MS)
        return;
    t->last_draw_ms = now;
    if (done > total)
        done = total;
    unsigned permille = (unsigned)(total > UINT64_MAX / 1000 ? done / (total / 1000) : done * 1000 / total);
    if (permille > 1000)
        permille = 1000;
    char bar[BAR_WIDTH + 1];
    unsigned filled = permille * BAR_WIDTH / 1000;
    for (unsigned i = 0; i < BAR_WIDTH; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[BAR_WIDTH] = '\0';
    int n = fprintf(stderr, "\r%s [%s] %3u.%u%%", t->label, bar, permille / 10, permille % 10);
    fflush(stderr);
    if (n > 1)
        t->bar_len = (size_t)n - 1;
}

void cli_progress_clear(cli_term *t)
{
    if (t->bar_len == 0)
        return;
    fprintf(stderr, "\r%*s\r", (int)t->bar_len, "");
    fflush(stderr);
    t->bar_len = 0;
}
