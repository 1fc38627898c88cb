/* The same tag search through libyara, for comparison with ms_tagscan.
 *
 *   yara_bench IMAGE [--threads N]
 *
 * One rule with the five netscan tags as text strings, run over the raw
 * image's mapping in 64 MiB blocks shared among the threads.  libyara finds
 * every occurrence, aligned or not; the pool-header checks would still have
 * to follow, so this is a lower bound on a libyara-based scanner's time. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <yara.h>

#define BLOCK (64u << 20)

static const char *const RULE = "rule net { strings: $a = \"TcpE\" $b = \"TTcb\" $c = \"TcpL\" $d = \"UdpA\" "
                                "$e = \"TcTW\" condition: any of them }";

typedef struct shared {
    YR_RULES *rules;
    const uint8_t *map;
    size_t size;
    size_t next;
    pthread_mutex_t lock;
    unsigned long long matches, aligned;
    size_t base;
} shared;

typedef struct block_ctx {
    unsigned long long matches, aligned;
} block_ctx;

static int on_msg(YR_SCAN_CONTEXT *ctx, int message, void *data, void *user)
{
    block_ctx *b = user;
    if (message == CALLBACK_MSG_RULE_MATCHING) {
        YR_RULE *rule = data;
        YR_STRING *s;
        yr_rule_strings_foreach(rule, s)
        {
            YR_MATCH *m;
            yr_string_matches_foreach(ctx, s, m)
            {
                b->matches++;
                b->aligned += (m->base + m->offset) % 16 == 4;
            }
        }
    }
    return CALLBACK_CONTINUE;
}

static void *worker(void *arg)
{
    shared *sh = arg;
    for (;;) {
        pthread_mutex_lock(&sh->lock);
        size_t off = sh->next;
        sh->next += BLOCK;
        pthread_mutex_unlock(&sh->lock);
        if (off >= sh->size)
            return NULL;
        size_t len = sh->size - off < BLOCK ? sh->size - off : BLOCK;
        block_ctx b = {0, 0};
        if (yr_rules_scan_mem(sh->rules, sh->map + off, len, SCAN_FLAGS_REPORT_RULES_MATCHING, on_msg, &b, 0) !=
            ERROR_SUCCESS)
            fprintf(stderr, "scan of block at 0x%zx failed\n", off);
        pthread_mutex_lock(&sh->lock);
        sh->matches += b.matches;
        sh->aligned += b.aligned;
        pthread_mutex_unlock(&sh->lock);
    }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s IMAGE [--threads N]\n", argv[0]);
        return 2;
    }
    unsigned threads = argc > 3 && strcmp(argv[2], "--threads") == 0 ? (unsigned)atoi(argv[3]) : 1;
    if (threads < 1 || threads > 16)
        threads = 1;
    int fd = open(argv[1], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        perror(argv[1]);
        return 1;
    }
    shared sh;
    memset(&sh, 0, sizeof sh);
    sh.size = (size_t)st.st_size;
    sh.map = mmap(NULL, sh.size, PROT_READ, MAP_SHARED, fd, 0);
    if (sh.map == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    yr_initialize();
    YR_COMPILER *c;
    if (yr_compiler_create(&c) != ERROR_SUCCESS || yr_compiler_add_string(c, RULE, NULL) != 0 ||
        yr_compiler_get_rules(c, &sh.rules) != ERROR_SUCCESS) {
        fprintf(stderr, "cannot compile the rule\n");
        return 1;
    }
    pthread_mutex_init(&sh.lock, NULL);
    double t0 = now();
    pthread_t tids[16];
    for (unsigned t = 0; t < threads; t++)
        pthread_create(&tids[t], NULL, worker, &sh);
    for (unsigned t = 0; t < threads; t++)
        pthread_join(tids[t], NULL);
    double t1 = now();
    printf("libyara threads %u: %llu matches, %llu at pool-tag positions\n", threads, sh.matches, sh.aligned);
    printf("scanned %.3f GB in %.3f s: %.2f GB/s\n", (double)sh.size / 1e9, t1 - t0,
           (double)sh.size / 1e9 / (t1 - t0));
    yr_rules_destroy(sh.rules);
    yr_compiler_destroy(c);
    yr_finalize();
    munmap((void *)sh.map, sh.size);
    close(fd);
    return 0;
}
