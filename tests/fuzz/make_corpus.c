/* Writes the seed corpus for fuzz_image_open: small crash dumps of each
 * kind, built by tests/unit/support/crashdump_builder.c.
 * Usage: memsift_fuzz_corpus DIR */
#include <stdio.h>
#include <stdlib.h>

#include "support/crashdump_builder.h"

static const cdb_run full_runs[] = {{0x1, 1}, {0x10, 1}};
static const cdb_run bitmap_runs[] = {{0x3, 1}, {0x41, 1}};

static int emit(const char *dir, const char *name, const cdb_spec *s)
{
    uint8_t *buf;
    size_t len;
    if (cdb_build(s, &buf, &len) != 0)
        return -1;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    int ok = f != NULL && fwrite(buf, 1, len, f) == len;
    if (f != NULL && fclose(f) != 0)
        ok = 0;
    free(buf);
    if (!ok)
        fprintf(stderr, "cannot write %s\n", path);
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    int err = 0;
    cdb_spec s;

    cdb_spec_init(&s, 1, 1);
    s.runs = full_runs;
    s.run_count = 2;
    s.comment = "seed";
    err |= emit(dir, "full64.dmp", &s);

    cdb_spec_init(&s, 0, 1);
    s.runs = full_runs;
    s.run_count = 2;
    err |= emit(dir, "full32.dmp", &s);

    cdb_spec_init(&s, 1, 5);
    s.runs = bitmap_runs;
    s.run_count = 2;
    s.bitmap_signature = CDB_FDMP;
    err |= emit(dir, "bitmap5_64.dmp", &s);

    cdb_spec_init(&s, 0, 6);
    s.runs = bitmap_runs;
    s.run_count = 2;
    err |= emit(dir, "bitmap6_32.dmp", &s);

    cdb_spec_init(&s, 0, 2);
    s.runs = bitmap_runs;
    s.run_count = 2;
    err |= emit(dir, "summary32.dmp", &s);

    cdb_spec_init(&s, 1, 2);
    s.runs = bitmap_runs;
    s.run_count = 2;
    err |= emit(dir, "summary64_legacy.dmp", &s);

    cdb_spec_init(&s, 1, 4);
    err |= emit(dir, "triage64.dmp", &s);

    cdb_spec_init(&s, 0, 3);
    s.attributes_set = 1;
    s.attributes = 0x100;
    err |= emit(dir, "encrypted32.dmp", &s);
    return err ? 1 : 0;
}
