/* The yarascan benchmark's reference: libyara alone scanning a file read
 * whole into one buffer, one thread, one yr_rules_scan_mem call.  Built
 * and run by yarascan_bench.sh; not part of the library. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <yara.h>

static int count_matches(YR_SCAN_CONTEXT *context, int message, void *data, void *user)
{
    if (message != CALLBACK_MSG_RULE_MATCHING)
        return CALLBACK_CONTINUE;
    YR_RULE *rule = data;
    YR_STRING *string;
    YR_MATCH *match;
    yr_rule_strings_foreach(rule, string)
    {
        yr_string_matches_foreach(context, string, match)
        {
            (*(uint64_t *)user)++;
        }
    }
    return CALLBACK_CONTINUE;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s RULES IMAGE\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[2], "rb");
    if (f == NULL || fseeko(f, 0, SEEK_END) != 0) {
        perror(argv[2]);
        return 1;
    }
    size_t size = (size_t)ftello(f);
    rewind(f);
    uint8_t *buf = malloc(size);
    if (buf == NULL || fread(buf, 1, size, f) != size) {
        fprintf(stderr, "cannot read %zu bytes of %s\n", size, argv[2]);
        return 1;
    }
    fclose(f);

    YR_COMPILER *compiler;
    YR_RULES *rules;
    FILE *rf = fopen(argv[1], "r");
    if (rf == NULL || yr_initialize() != ERROR_SUCCESS || yr_compiler_create(&compiler) != ERROR_SUCCESS ||
        yr_compiler_add_file(compiler, rf, NULL, argv[1]) != 0 || yr_compiler_get_rules(compiler, &rules) != ERROR_SUCCESS) {
        fprintf(stderr, "cannot compile %s\n", argv[1]);
        return 1;
    }
    uint64_t matches = 0;
    double t0 = now();
    int rc = yr_rules_scan_mem(rules, buf, size, SCAN_FLAGS_REPORT_RULES_MATCHING, count_matches, &matches, 0);
    double t = now() - t0;
    if (rc != ERROR_SUCCESS) {
        fprintf(stderr, "scan failed: %d\n", rc);
        return 1;
    }
    printf("%.3f %llu\n", t, (unsigned long long)matches);
    yr_rules_destroy(rules);
    yr_compiler_destroy(compiler);
    yr_finalize();
    free(buf);
    return 0;
}
