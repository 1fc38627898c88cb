/* ms-imagegen: writes a synthetic Windows memory image and its truth. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "damage.h"
#include "ig.h"
#include "net_vista.h"

#ifndef IG_DEFAULT_PROFILES
#define IG_DEFAULT_PROFILES "profiles"
#endif

const char *ig_profile_dir = IG_DEFAULT_PROFILES;

static void usage(FILE *f)
{
    fprintf(f, "usage: ms-imagegen --profile NAME --out PATH [--size 256M]\n"
          "         [--format raw|crash|crash-bitmap5|crash-bitmap6|crash-summary]\n"
          "         [--gzip] [--seed N] [--no-header-hints] [--profiles DIR] [--verify]\n"
          "         [--tcpip FILE] [--damage KIND]...\n"
          "       ms-imagegen --list-profiles [--profiles DIR]\n"
          "KIND: %s\n", ig_damage_names());
}

static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 0);
    uint64_t mul = 1;
    if (*end == 'K' || *end == 'k')
        mul = 1ull << 10;
    else if (*end == 'M' || *end == 'm')
        mul = 1ull << 20;
    else if (*end == 'G' || *end == 'g')
        mul = 1ull << 30;
    else if (*end != '\0')
        return 0;
    if (*end && end[1] != '\0')
        return 0;
    *out = v * mul;
    return 1;
}

static const struct { const char *name; ig_format fmt; } formats[] = {
    {"raw", IG_FMT_RAW}, {"crash", IG_FMT_CRASH}, {"crash-bitmap5", IG_FMT_BITMAP5},
    {"crash-bitmap6", IG_FMT_BITMAP6}, {"crash-summary", IG_FMT_SUMMARY},
};

static ig_status build(ig_ctx *c)
{
    ig_rng_seed(&c->rng, c->seed ^ ig_mix64(c->t->build));
    int year = (int)ig_rng_range(&c->rng, (uint64_t)c->t->first_year, (uint64_t)c->t->last_year);
    c->boot_time = ig_filetime_from(year, (int)ig_rng_range(&c->rng, 1, 12), (int)ig_rng_range(&c->rng, 1, 28),
                                    (int)ig_rng_range(&c->rng, 0, 23), (int)ig_rng_range(&c->rng, 0, 59),
                                    (int)ig_rng_range(&c->rng, 0, 59)) +
                   ig_rng_range(&c->rng, 0, 9999999);
    c->system_time = c->boot_time + ig_rng_range(&c->rng, 3600, 3 * 86400) * 10000000ull;
    if (ig_phys_init(c, c->size) != IG_OK || ig_paging_init(c) != IG_OK)
        return IG_ERR;
    if (ig_kernel_build(c) != IG_OK || ig_processes_build(c) != IG_OK || ig_modules_build(c) != IG_OK ||
        ig_network_build(c) != IG_OK)
        return IG_ERR;
    if (ig_pool_noise(c, IG_POOL_NONPAGED, 6) != IG_OK || ig_pool_noise(c, IG_POOL_PAGED, 6) != IG_OK)
        return IG_ERR;
    if (ig_pool_flush(c) != IG_OK || ig_processes_finish(c) != IG_OK || ig_damage_apply(c) != IG_OK ||
        ig_paging_finish(c) != IG_OK)
        return IG_ERR;
    return IG_OK;
}

int main(int argc, char **argv)
{
    const char *profile = NULL, *out = NULL, *format = "raw";
    uint64_t size = 256ull << 20, seed = 1;
    int gz = 0, hints = 1, list = 0, verify = 0;
    unsigned damage = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--profile") == 0 && v) {
            profile = v;
            i++;
        } else if (strcmp(a, "--out") == 0 && v) {
            out = v;
            i++;
        } else if (strcmp(a, "--size") == 0 && v) {
            if (!parse_size(v, &size)) {
                fprintf(stderr, "ms-imagegen: bad size '%s'\n", v);
                return 2;
            }
            i++;
        } else if (strcmp(a, "--format") == 0 && v) {
            format = v;
            i++;
        } else if (strcmp(a, "--seed") == 0 && v) {
            seed = strtoull(v, NULL, 0);
            i++;
        } else if (strcmp(a, "--profiles") == 0 && v) {
            ig_profile_dir = v;
            i++;
        } else if (strcmp(a, "--tcpip") == 0 && v) {
            ig_nv_tcpip_file = v;
            i++;
        } else if (strcmp(a, "--damage") == 0 && v) {
            if (ig_damage_parse(v, &damage) != IG_OK) {
                fprintf(stderr, "ms-imagegen: unknown damage '%s' (%s)\n", v, ig_damage_names());
                return 2;
            }
            i++;
        } else if (strcmp(a, "--gzip") == 0) {
            gz = 1;
        } else if (strcmp(a, "--no-header-hints") == 0) {
            hints = 0;
        } else if (strcmp(a, "--verify") == 0) {
            verify = 1;
        } else if (strcmp(a, "--list-profiles") == 0) {
            list = 1;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (list) {
        for (size_t i = 0; ig_target_at(i); i++) {
            const ig_target *t = ig_target_at(i);
            char path[1024];
            snprintf(path, sizeof path, "%s/kernel/%s.prof", ig_profile_dir, t->kernel_profile);
            printf("%-18s %-16s build %-5u %s%s\n", t->name, t->kernel_profile, t->build,
                   t->mode == IG_MODE_X64 ? "x64" : t->mode == IG_MODE_PAE ? "x86-pae" : "x86",
                   access(path, R_OK) == 0 ? "" : "  (kernel profile missing)");
        }
        return 0;
    }
    if (!profile || !out) {
        usage(stderr);
        return 2;
    }
    const ig_target *t = ig_target_find(profile);
    if (t == NULL) {
        fprintf(stderr, "ms-imagegen: unknown profile '%s' (see --list-profiles)\n", profile);
        return 2;
    }
    int fi = -1;
    for (size_t i = 0; i < sizeof formats / sizeof *formats; i++)
        if (strcmp(formats[i].name, format) == 0)
            fi = (int)i;
    if (fi < 0) {
        fprintf(stderr, "ms-imagegen: unknown format '%s'\n", format);
        return 2;
    }
    if (size < (16ull << 20) || size > (8ull << 30) || size % (1ull << 20)) {
        fprintf(stderr, "ms-imagegen: size must be whole MiB between 16M and 8G\n");
        return 2;
    }

    if (damage && verify) {
        fprintf(stderr, "ms-imagegen: --verify checks intact images only; drop it with --damage\n");
        return 2;
    }
    if (ig_nv_tcpip_file && t->build < 6000) {
        fprintf(stderr, "ms-imagegen: --tcpip needs a Vista or later profile\n");
        return 2;
    }
    ig_nv_bitmap_dump = formats[fi].fmt == IG_FMT_BITMAP5 || formats[fi].fmt == IG_FMT_BITMAP6 ||
                        formats[fi].fmt == IG_FMT_SUMMARY;
    ig_ctx *c = calloc(1, sizeof *c);
    if (c == NULL)
        return 1;
    c->t = t;
    c->seed = seed;
    c->size = size;
    c->header_hints = hints;
    c->damage = damage;
    char path[1024];
    snprintf(path, sizeof path, "%s/kernel/%s.prof", ig_profile_dir, t->kernel_profile);
    int rc = 1;
    uint64_t file_size = 0;
    int dump_type = 0;
    char truth[1100];
    snprintf(truth, sizeof truth, "%s.truth.json", out);
    if (ig_prof_load(path, &c->prof) != IG_OK ||
        (t->eproc_shift && ig_prof_shift(c->prof, "_EPROCESS", "ActiveProcessLinks", t->eproc_shift) != IG_OK) ||
        build(c) != IG_OK ||
        ig_output_write(c, formats[fi].fmt, out, gz, &file_size, &dump_type) != IG_OK ||
        ig_truth_write(c, truth, format, dump_type, gz, file_size) != IG_OK) {
        fprintf(stderr, "ms-imagegen: %s\n", ig_last_error());
        goto done;
    }
    if (verify) {
        if (ig_verify(c, formats[fi].fmt, out, gz) != IG_OK) {
            fprintf(stderr, "ms-imagegen: verify failed: %s\n", ig_last_error());
            goto done;
        }
        fprintf(stderr, "ms-imagegen: verify ok (%d processes, %d modules)\n", c->nprocs, c->nmods);
    }
    rc = 0;
done:
    ig_phys_free(c);
    ig_prof_free(c->prof);
    for (int i = 0; i < c->nconns; i++)
        free(c->conns[i]);
    free(c->damage_log);
    free(c);
    return rc;
}
